import SwarmAPI
extension ComposeReader {
    /// One `volumes:` item of a service: short (`data:/var/lib/mysql`,
    /// `./init.sql:/init.sql:ro`, `/cache`) or long (type, source, target,
    /// read_only, volume.nocopy, tmpfs.size, tmpfs.mode). Relative bind
    /// sources become absolute against the first file's directory.
    func volume(_ item: YAMLValue) throws(ComposeError) -> ServiceVolume {
        if case .mapping = item.kind { return try longVolume(item) }
        guard let spec = item.scalarText else {
            throw item.position.error("volumes items must be a string like data:/path or a mapping, got \(item.shown)")
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            throw item.position.error("invalid volume \"\(spec)\": expected [SOURCE:]TARGET[:MODE]")
        }
        if parts.count == 1 {
            guard parts[0].hasPrefix("/") else { throw item.position.error("invalid volume \"\(spec)\": the target must be an absolute path") }
            return ServiceVolume(type: "volume", source: nil, target: parts[0], position: item.position)
        }
        let source = parts[0], target = parts[1]
        guard target.hasPrefix("/") else { throw item.position.error("invalid volume \"\(spec)\": the target must be an absolute path") }
        let isPath = source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~")
        var volume = ServiceVolume(type: isPath ? "bind" : "volume", source: isPath ? absolute(source) : source, target: target,
                                   position: item.position)
        if parts.count == 3 {
            for option in parts[2].split(separator: ",") {
                switch option {
                case "ro": volume.readOnly = true
                case "rw": volume.readOnly = false
                case "nocopy" where !isPath: volume.noCopy = true
                case "z", "Z", "rprivate", "private": continue  // SELinux labels and the default propagation: nothing to do here.
                default:
                    throw item.position.error("invalid volume \"\(spec)\": mode \(option) is not supported (ro, rw\(isPath ? "" : ", nocopy"))")
                }
            }
        }
        return volume
    }

    private func longVolume(_ item: YAMLValue) throws(ComposeError) -> ServiceVolume {
        let fields = try Fields(item, path: "volumes", at: item.position)
        for unknown in fields.unknown(["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs"]) {
            throw unknown.keyPosition.error("unknown key '\(unknown.key)' in volumes (expected type, source, target, read_only, bind, volume or tmpfs)")
        }
        guard let type = try fields.string("type") else { throw item.position.error("volumes items in the long form must have a type") }
        guard ["volume", "bind", "tmpfs"].contains(type) else {
            throw fields["type"]!.keyPosition.error("volumes.type must be volume, bind or tmpfs, got \"\(type)\"")
        }
        guard let target = try fields.string("target") else { throw item.position.error("volumes items in the long form must have a target") }
        guard target.hasPrefix("/") else { throw fields["target"]!.keyPosition.error("volumes.target must be an absolute path, got \"\(target)\"") }
        var source = try fields.string("source")
        switch type {
        case "bind":
            guard let path = source, !path.isEmpty else { throw item.position.error("invalid bind source, source cannot be empty") }
            source = absolute(path)
        case "tmpfs":
            if let path = source, !path.isEmpty { throw fields["source"]!.keyPosition.error("invalid tmpfs source, source must be empty") }
        default: break
        }
        var volume = ServiceVolume(type: type, source: source, target: target, position: item.position)
        volume.readOnly = try fields.bool("read_only") ?? false
        if let bind = try fields.fields("bind") {
            for unknown in bind.unknown(["propagation", "create_host_path", "selinux"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in volumes.bind (expected propagation)")
            }
            if let propagation = try bind.string("propagation"), propagation != "rprivate" {
                throw bind["propagation"]!.keyPosition.error("volumes.bind.propagation \(propagation) is not supported yet by swarm (rprivate only)")
            }
        }
        if let options = try fields.fields("volume") {
            for unknown in options.unknown(["nocopy", "subpath"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in volumes.volume (expected nocopy)")
            }
            try options.refuse(["subpath"])
            volume.noCopy = try options.bool("nocopy")
        }
        if let tmpfs = try fields.fields("tmpfs") {
            for unknown in tmpfs.unknown(["size", "mode"]) {
                throw unknown.keyPosition.error("unknown key '\(unknown.key)' in volumes.tmpfs (expected size or mode)")
            }
            volume.tmpfsSize = try tmpfs.size("size")
            if let mode = tmpfs["mode"] { volume.tmpfsMode = try Self.fileMode(mode.value, name: "volumes.tmpfs.mode", at: mode.keyPosition) }
        }
        return volume
    }
}
