import Containers
import FoundationEssentials

/// What `container inspect` prints for one container, as the Engine API's
/// `GET /containers/{id}/json` body (swarmd serves it for the docker CLI,
/// which inspects a container before `exec`).
public func containerInspectJSON(_ info: ContainerInfo) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(ContainerInspect(info)))
}
