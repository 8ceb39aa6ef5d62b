@testable import OverlayNetwork
import Testing

struct OverlayNetworkTests {
    @Test func subnetsParseAndOverlap() throws {
        let subnet = try #require(IPv4Subnet("10.0.9.7/24"))
        #expect(subnet.description == "10.0.9.0/24" && subnet.address(1) == "10.0.9.1")
        #expect(subnet.overlaps(try #require(IPv4Subnet("10.0.0.0/8"))))
        #expect(!subnet.overlaps(try #require(IPv4Subnet("10.0.10.0/24"))))
        #expect(IPv4Subnet("10.0.9.0") == nil && IPv4Subnet("10.0.9.0/33") == nil && IPv4Subnet("10.0.300.0/24") == nil)
    }

    @Test func routesAreReadFromProcNetRoute() {
        // /proc/net/route as a little-endian host prints it.
        let table = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        docker0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0

        """
        #expect(OverlayDataPath.routes(table).map(\.description) == ["192.168.1.0/24", "172.18.0.0/16"])
    }

    @Test func interfaceNamesFitIFNAMSIZ() {
        let id = "9x7kq2m4w8e1r5t3y6u0i2o4p"
        for name in [OverlayNames.vxlan(id), OverlayNames.taskPort(id), OverlayNames.gatewayPort(id), OverlayNames.ingressEndpoint(id),
                     OverlayNames.gatewayBridge] {
            #expect(name.utf8.count <= 15 && name.allSatisfy(\.isASCII), "\(name)")
        }
        #expect(OverlayNames.vxlan(id) == "vx-9x7kq2m4w8e1")
        #expect(OverlayNames.safe("ab/../c d") == "abcd")
    }

    @Test func aLoopbackNodeGetsNoDataPath() {
        #expect(!OverlayDataPath.serves(advertiseAddr: "127.0.0.1:2377") && !OverlayDataPath.serves(advertiseAddr: "127.0.1.1"))
        #expect(OverlayDataPath.serves(advertiseAddr: "10.77.0.2:2377"))
    }

    @Test func aNodeAddressLosesItsPort() {
        #expect(OverlayDataPath.host("10.77.0.2:2377") == "10.77.0.2")
        #expect(OverlayDataPath.host("10.77.0.2") == "10.77.0.2")
    }
}
