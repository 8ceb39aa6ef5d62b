import Foundation
import OCIImages
import SystemCalls
import Testing

/// OCI whiteouts in a layer become overlayfs whiteouts (a 0/0 character
/// device, the trusted.overlay.opaque xattr), and a real overlay mount of the
/// unpacked layers shows the deletions. Needs root: mknod, trusted.* xattrs,
/// mount.
@Suite(.enabled(if: isRoot, rootReason))
struct WhiteoutTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "swarm-test-whiteout-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
    }

    func sh(_ script: String) throws {
        let result = runProcess("/bin/sh", ["-ec", "cd \(root)\n" + script])
        if result.status != 0 { throw RuntimeError.badInput("fixture script failed: \(result.stderr)") }
    }

    func lstatOf(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    func isWhiteout(_ path: String) -> Bool {
        guard let st = lstatOf(path) else { return false }
        return st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0
    }

    /// getxattr(2): Swift's Glibc module leaves out <sys/xattr.h>.
    func xattr(_ path: String, _ name: String) -> String? {
        typealias GetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getxattr") else { return nil }
        let getxattr = unsafeBitCast(symbol, to: GetXattr.self)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : String(decoding: buffer[..<n], as: UTF8.self)
    }

    func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    @Test func whiteoutsAndOpaqueDirectoriesHideLowerLayers() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The lower layer has a, dir/, b/ and opq/old; the upper one deletes
        // a, dir and b, makes opq opaque (keeping its own opq/new), and
        // makes fresh/ opaque without a directory entry for it.
        try sh("""
            mkdir -p lower/dir lower/b/inner lower/opq lower/fresh
            echo a > lower/a; echo f > lower/dir/file; echo i > lower/b/inner/i
            echo old > lower/opq/old; echo keep > lower/keep; echo l > lower/fresh/l
            tar -C lower -cf lower.tar .
            mkdir -p upper/opq upper/fresh
            touch upper/.wh.a upper/.wh.dir upper/.wh.b upper/opq/.wh..wh..opq upper/.wh..wh.plnk.1 upper/fresh/.wh..wh..opq
            echo new > upper/opq/new
            tar -C upper -cf upper.tar .wh.a .wh.dir .wh.b opq .wh..wh.plnk.1 fresh/.wh..wh..opq
            gzip -k upper.tar
            mkdir L U M
            mkdir -p U/b/already && echo x > U/b/already/x
            """)
        let lower = root + "/L", upper = root + "/U", merged = root + "/M"
        try LayerUnpacker.unpack(archive: root + "/lower.tar", into: lower)
        // U/b is there before: the whiteout replaces it, contents and all.
        try LayerUnpacker.unpack(archive: root + "/upper.tar.gz", into: upper)

        #expect(isWhiteout(upper + "/a"))
        #expect(isWhiteout(upper + "/dir"))
        #expect(isWhiteout(upper + "/b"))
        #expect(lstatOf(upper + "/a").map { $0.st_mode & 0o7777 } == 0)
        #expect(xattr(upper + "/opq", "trusted.overlay.opaque") == "y")
        #expect(xattr(upper + "/fresh", "trusted.overlay.opaque") == "y", "made for the marker, with the xattr")
        #expect(list(upper) == ["a", "b", "dir", "fresh", "opq"], "whiteout entries themselves are not extracted")
        #expect(list(upper + "/opq") == ["new"])
        #expect(list(upper + "/fresh") == [])
        #expect(xattr(lower + "/opq", "trusted.overlay.opaque") == nil)

        let mount = runProcess("/bin/mount", ["-t", "overlay", "overlay", "-o", "lowerdir=\(upper):\(lower)", merged])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer {
            if runProcess("/bin/umount", [merged]).status != 0 { runProcess("/bin/umount", ["-l", merged]) }
        }
        #expect(list(merged) == ["fresh", "keep", "opq"])
        #expect(list(merged + "/opq") == ["new"], "the opaque directory hides opq/old")
        #expect(list(merged + "/fresh") == [])
        #expect(FileManager.default.contents(atPath: merged + "/keep") == Data("keep\n".utf8))
    }

    @Test func whiteoutEntriesCannotLeaveTheLayer() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        // "link" points out of the layer; a whiteout under it must resolve
        // inside the layer, and a "../" whiteout is refused.
        try sh("""
            mkdir -p outside/victim A B/link src L1 L2
            echo precious > outside/victim/file
            ln -s \(root)/outside A/link
            touch B/link/.wh.victim
            tar -cf sym.tar -C \(root)/A link -C \(root)/B link/.wh.victim
            touch src/.wh.outside
            tar -C src -cPf dotdot.tar --transform 's|^|../|' .wh.outside
            """)
        try LayerUnpacker.unpack(archive: root + "/sym.tar", into: root + "/L1")
        #expect(FileManager.default.contents(atPath: root + "/outside/victim/file") == Data("precious\n".utf8))
        #expect(isWhiteout(root + "/L1" + root + "/outside/victim"))

        #expect(throws: RuntimeError.badInput("cannot unpack layer \(root)/dotdot.tar: layer entry ../.wh.outside: path escapes the layer")) {
            try LayerUnpacker.unpack(archive: root + "/dotdot.tar", into: root + "/L2")
        }
        #expect(lstatOf(root + "/outside").map { $0.st_mode & S_IFMT == S_IFDIR } == true)
    }
}
