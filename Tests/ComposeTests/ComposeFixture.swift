import SwarmAPI
import Compose
import FoundationEssentials
import Glibc

/// A temporary directory holding compose files (and what they refer to),
/// removed when the test ends, failed or not.
final class ComposeFixture {
    let directory: String

    init(_ files: [String: String] = [:]) {
        var template = Array("/tmp/compose-test-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        for (name, text) in files { write(name, text) }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ text: String) {
        let full = path(name)
        try? FileManager.default.createDirectory(atPath: String(full[..<full.lastIndex(of: "/")!]), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
    }

    func load(_ names: [String] = ["stack.yml"], environment: [String: String] = [:], namespace: String = "app") throws(ComposeError) -> StackPlan {
        try ComposeLoader.load(files: names.map(path), environment: environment, namespace: namespace)
    }

    /// The error's text as the tables write it: the file named relative to
    /// the directory, other paths in it with the directory as `DIR`.
    func message(_ names: [String] = ["stack.yml"], environment: [String: String] = [:]) -> String? {
        do {
            _ = try load(names, environment: environment)
            return nil
        } catch {
            var text = String(describing: error)
            if text.hasPrefix(directory + "/") { text.removeFirst(directory.count + 1) }
            return text.replacing(directory, with: "DIR")
        }
    }
}
