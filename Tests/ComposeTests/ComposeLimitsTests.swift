import Compose
import SwarmAPI
import Testing

/// `sysctls`, `ulimits` and `deploy.placement.preferences` into the service spec, as `docker stack deploy` converts them.
@Suite struct ComposeLimitsTests {
    @Test func sysctlsAsMapOrListAndUlimitsInBothForms() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              map:
                image: nginx
                sysctls:
                  net.core.somaxconn: 1024
                  kernel.shmmax: "68719476736"
                ulimits:
                  nproc: 65535
                  nofile:
                    soft: 20000
                    hard: 40000
              list:
                image: nginx
                sysctls:
                  - net.ipv4.tcp_syncookies=0
                  - fs.mqueue.msg_max=100

            """])
        let plan = try fixture.load()
        let map = plan.services.first { $0.name == "app_map" }?.taskTemplate.containerSpec
        #expect(map?.sysctls == ["net.core.somaxconn": "1024", "kernel.shmmax": "68719476736"])
        #expect(map?.ulimits == [Ulimit(name: "nofile", soft: 20000, hard: 40000), Ulimit(name: "nproc", soft: 65535, hard: 65535)])
        let list = plan.services.first { $0.name == "app_list" }?.taskTemplate.containerSpec
        #expect(list?.sysctls == ["net.ipv4.tcp_syncookies": "0", "fs.mqueue.msg_max": "100"])
        #expect(list?.ulimits == nil)
        #expect(plan.warnings.isEmpty)
    }

    @Test func placementPreferencesInOrder() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: nginx
                deploy:
                  placement:
                    constraints: [node.role==worker]
                    preferences:
                      - spread: node.labels.region
                      - spread: node.labels.zone

            """])
        let placement = try fixture.load().services[0].taskTemplate.placement
        #expect(placement?.constraints == ["node.role==worker"])
        #expect(placement?.preferences == [PlacementPreference(spread: "node.labels.region"), PlacementPreference(spread: "node.labels.zone")])
        // The JSON Docker's API carries.
        let json = String(decoding: try APIJSON.encode(placement), as: UTF8.self)
        #expect(json.contains(#""Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.region"}}"#))
    }

    @Test func aLaterFileMergesSysctlsAndUlimitsByKey() throws {
        let fixture = ComposeFixture([
            "stack.yml": """
                services:
                  web:
                    image: nginx
                    sysctls: {net.core.somaxconn: 1024, kernel.sem: "250 32000 100 128"}
                    ulimits: {nofile: 1024, nproc: 100}

                """,
            "override.yml": """
                services:
                  web:
                    sysctls: [net.core.somaxconn=4096]
                    ulimits: {nofile: {soft: 2048, hard: 4096}}

                """,
        ])
        let container = try fixture.load(["stack.yml", "override.yml"]).services[0].taskTemplate.containerSpec
        #expect(container?.sysctls == ["net.core.somaxconn": "4096", "kernel.sem": "250 32000 100 128"])
        #expect(container?.ulimits == [Ulimit(name: "nofile", soft: 2048, hard: 4096), Ulimit(name: "nproc", soft: 100, hard: 100)])
    }
}
