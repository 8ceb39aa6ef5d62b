import Foundation
@testable import OCIImages
@testable import SystemCalls
import Testing

/// A directory for one test, removed with everything in it when the test's
/// value goes away.
private final class Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "swarm-test-layer-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a shell script in `directory`; the fixtures are made with the real
/// tar, gzip and zstd, as layers are.
private func sh(_ script: String, in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-ec", script]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        throw RuntimeError.badInput("fixture script failed (\(process.terminationStatus)): \(script)\n\(message)")
    }
}

private func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

private func exists(_ path: String) -> Bool { lstatOf(path) != nil }

private func isDirectory(_ path: String) -> Bool { lstatOf(path).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false }

private func isRegular(_ path: String) -> Bool { lstatOf(path).map { $0.st_mode & S_IFMT == S_IFREG } ?? false }

private func permissions(_ path: String) -> mode_t? { lstatOf(path).map { $0.st_mode & 0o7777 } }

private func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// Every path below `root`, relative, sorted.
private func tree(_ root: String) -> [String] {
    ((FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []).sorted()
}

/// The message of a `.badInput` the unpacker threw, or nil.
private func unpackFailure(_ archive: String, _ dest: String) -> String? {
    do {
        try LayerUnpacker.unpack(archive: archive, into: dest)
        return nil
    } catch RuntimeError.badInput(let message) {
        return message
    } catch {
        return "unexpected error: \(error)"
    }
}

struct LayerUnpackerTests {
    private let scratch: Scratch
    var root: String { scratch.path }

    init() throws { scratch = try Scratch() }

    /// A fresh, empty destination directory.
    func dest(_ name: String = "dest") throws -> String {
        let path = root + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test(arguments: ["tar", "gzip", "zstd"])
    func unpacksFilesDirectoriesLinksAndModes(compression: String) throws {
        try sh("""
            mkdir -p src/etc src/bin src/var/empty
            printf 'hello\\n' > src/etc/conf
            printf '#!/bin/sh\\n' > src/bin/tool
            ln -s tool src/bin/link
            ln -s /etc/conf src/abslink
            ln src/bin/tool src/bin/tool2
            chmod 0640 src/etc/conf; chmod 4755 src/bin/tool; chmod 0750 src/etc
            chmod 0700 src/var/empty; chmod 1777 src/var
            touch -h -d '2001-02-03 04:05:06 UTC' src/etc/conf src/etc
            tar -C src -cf layer.tar .
            case \(compression) in
              gzip) gzip -c layer.tar > layer.tar.gz; mv layer.tar.gz layer ;;
              zstd) zstd -q layer.tar -o layer.tar.zst; mv layer.tar.zst layer ;;
              *) mv layer.tar layer ;;
            esac
            """, in: root)
        let dest = try dest()
        try LayerUnpacker.unpack(archive: root + "/layer", into: dest)

        #expect(tree(dest) == ["abslink", "bin", "bin/link", "bin/tool", "bin/tool2", "etc", "etc/conf", "var", "var/empty"])
        #expect(contents(dest + "/etc/conf") == "hello\n")
        #expect(permissions(dest + "/etc/conf") == 0o640)
        #expect(permissions(dest + "/etc") == 0o750)
        #expect(permissions(dest + "/bin/tool") == 0o4755)
        #expect(permissions(dest + "/var") == 0o1777)
        #expect(isDirectory(dest + "/var/empty") && permissions(dest + "/var/empty") == 0o700)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dest + "/bin/link") == "tool")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dest + "/abslink") == "/etc/conf",
                "symlink targets are kept as written: they resolve inside the container")
        let tool = lstatOf(dest + "/bin/tool"), tool2 = lstatOf(dest + "/bin/tool2")
        #expect(tool != nil && tool?.st_ino == tool2?.st_ino, "hard link")
        #expect(lstatOf(dest + "/etc/conf")?.st_mtim.tv_sec == 981_173_106)
        #expect(lstatOf(dest + "/etc")?.st_mtim.tv_sec == 981_173_106, "directory times are set after their contents")
    }

    @Test func leadingSlashIsStripped() throws {
        // GNU tar keeps a leading "/" with -P; the entry is the absolute
        // path of a file in the scratch directory, which must not be touched.
        try sh("""
            mkdir src && echo inside > src/file.txt
            tar -C src -cPf abs.tar --transform 's|^|\(root)/victim/|' file.txt
            tar -C src -cf dot.tar ./file.txt
            """, in: root)
        let dest = try dest()
        try LayerUnpacker.unpack(archive: root + "/abs.tar", into: dest)
        #expect(!exists(root + "/victim"), "written outside the layer")
        #expect(contents(dest + root + "/victim/file.txt") == "inside\n")

        let dest2 = try self.dest("dest2")
        try LayerUnpacker.unpack(archive: root + "/dot.tar", into: dest2)
        #expect(tree(dest2) == ["file.txt"])
    }

    @Test(arguments: ["../", "a/../../", "a/../"])
    func dotDotIsRefused(prefix: String) throws {
        try sh("""
            mkdir src && echo out > src/escape.txt
            tar -C src -cPf evil.tar --transform 's|^|\(prefix)|' escape.txt
            """, in: root)
        let dest = try dest()
        let message = unpackFailure(root + "/evil.tar", dest)
        #expect(message == "cannot unpack layer \(root)/evil.tar: layer entry \(prefix)escape.txt: path escapes the layer")
        #expect(!exists(root + "/escape.txt"))
        #expect(tree(dest).isEmpty)
    }

    @Test func hardLinkOutOfTheLayerIsRefused() throws {
        // The hard link g's target becomes "../f"; the file f keeps its name.
        try sh("""
            mkdir src && echo secret > f && echo x > src/f && ln src/f src/g
            tar -C src -cPf evil.tar --transform 's,^f$,../f,RS' f g
            """, in: root)
        let dest = try dest()
        let message = unpackFailure(root + "/evil.tar", dest)
        #expect(message == "cannot unpack layer \(root)/evil.tar: layer entry g: hard link to ../f escapes the layer")
        #expect(lstatOf(root + "/f")?.st_nlink == 1)
        #expect(!exists(dest + "/g"))
    }

    @Test func symlinksInTheLayerCannotLeadOut() throws {
        // link -> <root>/outside and up -> ../../.. come first, then entries
        // through them: they resolve as if the layer were "/".
        try sh("""
            mkdir -p A B/link B/up outside
            ln -s \(root)/outside A/link
            ln -s ../../.. A/up
            ln -s \(root)/outside/last A/last
            echo one > B/link/file; echo two > B/up/file2; echo three > B/last
            tar -cf sym.tar -C \(root)/A link up last -C \(root)/B link/file up/file2 last
            """, in: root)
        let dest = try dest()
        try LayerUnpacker.unpack(archive: root + "/sym.tar", into: dest)
        #expect(tree(root + "/outside").isEmpty, "written outside the layer: \(tree(root + "/outside"))")
        #expect(contents(dest + root + "/outside/file") == "one\n")
        #expect(contents(dest + "/file2") == "two\n")
        #expect(isRegular(dest + "/last"), "a file replaces the symlink, it is not written through it")
        #expect(contents(dest + "/last") == "three\n")
    }

    @Test func entriesReplaceWhatIsInTheirWay() throws {
        // First layer: file x, directory d with content, directory m. The
        // second, unpacked over it: directory x, file d, directory m (merges).
        try sh("""
            mkdir -p one/d/sub one/m two/x two/m
            echo file > one/x; echo f > one/d/sub/f; echo old > one/m/old
            echo y > two/x/y; echo now-a-file > two/d; echo new > two/m/new
            tar -C one -cf one.tar .; tar -C two -cf two.tar .
            """, in: root)
        let dest = try dest()
        try LayerUnpacker.unpack(archive: root + "/one.tar", into: dest)
        try LayerUnpacker.unpack(archive: root + "/two.tar", into: dest)
        #expect(isDirectory(dest + "/x") && contents(dest + "/x/y") == "y\n")
        #expect(isRegular(dest + "/d") && contents(dest + "/d") == "now-a-file\n")
        #expect(tree(dest + "/m") == ["new", "old"])
    }

    @Test func corruptArchivesFailWithAMessage() throws {
        try sh("""
            head -c 4096 /dev/urandom > random.bin
            mkdir src && head -c 100000 /dev/urandom > src/data && tar -C src -czf good.tar.gz .
            head -c 2000 good.tar.gz > truncated.tar.gz
            tar -C src -cf good.tar . && head -c 3000 good.tar > truncated.tar
            """, in: root)
        for name in ["random.bin", "truncated.tar.gz", "truncated.tar"] {
            let dest = try dest(name + ".d")
            let message = unpackFailure(root + "/" + name, dest)
            let prefix = "cannot unpack layer \(root)/\(name): "
            #expect(message?.hasPrefix(prefix) == true, "\(String(describing: message))")
            #expect((message?.count ?? 0) > prefix.count + 3, "no reason given: \(String(describing: message))")
            #expect(message?.contains("\n") == false)
        }
        #expect(unpackFailure(root + "/random.bin", try dest("r")) == "cannot unpack layer \(root)/random.bin: Unrecognized archive format")
    }

    @Test func missingArchiveOrDestination() throws {
        #expect(throws: RuntimeError.system(errno: ENOENT, call: "open", detail: root + "/nope.tar")) {
            try LayerUnpacker.unpack(archive: root + "/nope.tar", into: root)
        }
        try sh("mkdir src && echo x > src/x && tar -C src -cf x.tar .", in: root)
        #expect(unpackFailure(root + "/x.tar", root + "/no-dest") == "cannot unpack layer \(root)/x.tar: \(root)/no-dest: No such file or directory")
    }

    /// Layers unpack on several threads at once without disturbing each
    /// other or the process (libarchive flips the umask per entry).
    @Test func parallelUnpacksLeaveTheUmaskAlone() async throws {
        try sh("""
            mkdir -p src/a/b/c && for i in $(seq 1 200); do echo $i > src/a/b/c/f$i; done
            tar -C src -czf layer.tar.gz .
            """, in: root)
        let before = umask(0o022)
        umask(before)
        let root = self.root
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let dest = root + "/p\(i)"
                    try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: false)
                    try LayerUnpacker.unpack(archive: root + "/layer.tar.gz", into: dest)
                }
            }
            try await group.waitForAll()
        }
        let after = umask(before)
        #expect(after == before)
        for i in 0..<8 { #expect(tree(root + "/p\(i)/a/b/c").count == 200) }
    }
}
