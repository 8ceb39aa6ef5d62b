import Testing
import Formatting

struct FiltersTests {
    @Test func parsesLikeTheDockerCLI() throws {
        let f = try Filters(["name=web", "name=api", "label=tier=front", " ID = abc ", ""])
        #expect(f.keys == ["id", "label", "name"])
        #expect(f.values("name") == ["api", "web"])
        #expect(f.values("id") == ["abc"])
        #expect(f.values("label") == ["tier=front"])
        #expect(f.values("missing") == [])
        #expect(try Filters([]).isEmpty)
        // Only the first '=' separates name and value.
        #expect(try Filters(["label=a=b=c"]).values("label") == ["a=b=c"])
    }

    @Test func badSyntax() {
        #expect(throws: FormattingError("bad format of filter (expected name=value)")) {
            try Filters(["name"])
        }
    }

    @Test func validateKeys() throws {
        let f = try Filters(["name=web", "foo=bar"])
        #expect(throws: FormattingError("invalid filter 'foo'")) {
            try f.validate(allowed: ["id", "name", "label", "mode"])
        }
        try f.validate(allowed: ["name", "foo"])
    }

    @Test func valuesOfOneKeyAreAlternatives() throws {
        let f = try Filters(["name=web", "name=api"])
        #expect(f.exactMatch("name", "web"))
        #expect(f.exactMatch("name", "api"))
        #expect(!f.exactMatch("name", "webserver"))
        // A key that was not given matches everything.
        #expect(f.exactMatch("mode", "global"))
    }

    @Test func idPrefixes() throws {
        let f = try Filters(["id=kbd2", "id=x9tt"])
        #expect(f.prefixMatch("id", "kbd2l7w0abgm"))
        #expect(f.prefixMatch("id", "x9ttfc5n5a2u"))
        #expect(!f.prefixMatch("id", "zkbd2"))
        #expect(f.matches("id") { $0.count == 4 })
    }

    @Test func labelsMustAllMatch() throws {
        let f = try Filters(["label=tier", "label=env=prod"])
        #expect(f.labelMatch(labels: ["tier": "front", "env": "prod"]))
        #expect(!f.labelMatch(labels: ["tier": "front", "env": "dev"]))
        #expect(!f.labelMatch(labels: ["env": "prod"]))
        #expect(try Filters([]).labelMatch(labels: [:]))
        // Empty value means the label must be present and empty.
        #expect(try Filters(["label=a="]).labelMatch(labels: ["a": ""]))
        #expect(try !Filters(["label=a="]).labelMatch(labels: ["a": "x"]))
        // Other label keys such as node.label work the same way.
        #expect(try Filters(["node.label=zone=a"]).labelMatch("node.label", labels: ["zone": "a"]))
    }

    @Test func differentKeysAreCombined() throws {
        let f = try Filters(["name=web", "mode=replicated"])
        func matches(_ name: String, _ mode: String) -> Bool {
            f.exactMatch("name", name) && f.exactMatch("mode", mode)
        }
        #expect(matches("web", "replicated"))
        #expect(!matches("web", "global"))
        #expect(!matches("api", "replicated"))
    }

    @Test func booleanFilters() throws {
        #expect(try Filters(["dangling=true"]).bool("dangling", default: false))
        #expect(try !Filters(["dangling=0"]).bool("dangling", default: true))
        #expect(try Filters([]).bool("dangling", default: true))
        #expect(throws: FormattingError("invalid filter 'dangling=[maybe]'")) {
            try Filters(["dangling=maybe"]).bool("dangling", default: false)
        }
    }

    @Test func queryJSON() throws {
        let f = try Filters(["name=web", "name=api", "label=a<b"])
        #expect(f.toQueryJSON() == #"{"label":{"a\u003cb":true},"name":{"api":true,"web":true}}"#)
        #expect(Filters().toQueryJSON() == "{}")
        #expect(try Filters(queryJSON: f.toQueryJSON()) == f)
        // The pre-1.22 API form.
        #expect(try Filters(queryJSON: #"{"name":["web","api"],"label":["a<b"]}"#) == f)
        #expect(try Filters(queryJSON: "").isEmpty)
        #expect(try Filters(queryJSON: #"{"dangling":{"true":true}}"#).bool("dangling", default: false))
        #expect(throws: FormattingError("invalid filter")) { try Filters(queryJSON: "not json") }
        #expect(throws: FormattingError("invalid filter")) { try Filters(queryJSON: #"{"name":"web"}"#) }
    }
}
