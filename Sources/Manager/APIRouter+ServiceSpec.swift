import Formatting
import SwarmAPI

/// How the API reads a `ServiceSpec` from the docker CLI, an SDK or ours.
extension APIRouter {
    /// Decodes a service spec strictly (see `StrictDecoding`), with a
    /// generated name when the client gave none (as Docker's
    /// `adjective_surname`) and Docker's defaults filled in.
    static func serviceSpec(from body: [UInt8], generateName: Bool) throws -> ServiceSpec {
        let spec = try StrictDecoding.decode(ServiceSpec.self, from: body, amend: { fields in
            try DockerSpecChecks.service(fields)
            if generateName, (fields.first { $0.key == "Name" }?.value.stringValue ?? "").isEmpty {
                fields.removeAll { $0.key == "Name" }
                fields.append((key: "Name", value: .string(NameGenerator.generate())))
            }
            // Docker reads no mode as replicated (one replica), no template as an empty one (refused for its image).
            for key in ["Mode", "TaskTemplate"] where !fields.contains(where: { $0.key == key }) {
                fields.append((key: key, value: .object([])))
            }
            // A mode the model does not know would otherwise read as no mode (one replica).
            if case .object(let mode)? = fields.first(where: { $0.key == "Mode" })?.value,
               let job = mode.first(where: { $0.key.hasSuffix("Job") }) {
                throw unsupportedServiceField("Mode." + job.key)!
            }
            // Docker's default isolation, which is all Linux has.
            remove(["TaskTemplate", "ContainerSpec", "Isolation"], ifEqual: .string("default"), from: &fields)
        }, explain: unsupportedServiceField)
        return spec.withDockerDefaults()
    }

    /// What a field the model does not carry means to the operator.
    static func unsupportedServiceField(_ path: String) -> APIError? {
        let known: [(prefix: String, what: String)] = [
            ("TaskTemplate.LogDriver", "log drivers (--log-driver, --log-opt) are not supported yet: tasks log to json-file"),
            ("Mode.ReplicatedJob", "job services (--mode replicated-job) are not supported yet"),
            ("Mode.GlobalJob", "job services (--mode global-job) are not supported yet"),
        ]
        guard let match = known.first(where: { path.hasPrefix($0.prefix) }) else { return nil }
        return APIError(501, match.what + " (\(path))")
    }

    /// Removes the field at `path` when it holds `value`.
    static func remove(_ path: [String], ifEqual value: TemplateValue, from fields: inout [(key: String, value: TemplateValue)]) {
        guard let key = path.first, let index = fields.firstIndex(where: { $0.key == key }) else { return }
        if path.count == 1 {
            if fields[index].value == value { fields.remove(at: index) }
            return
        }
        guard case .object(var inner) = fields[index].value else { return }
        remove(Array(path.dropFirst()), ifEqual: value, from: &inner)
        fields[index].value = .object(inner)
    }
}
