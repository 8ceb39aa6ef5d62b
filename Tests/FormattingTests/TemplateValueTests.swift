import Testing
import Formatting

struct TemplateValueTests {
    @Test func objectsKeepTheirOrder() {
        let v: TemplateValue = ["Z": 1, "A": 2]
        #expect(v.json() == #"{"Z":1,"A":2}"#)
        #expect(TemplateValue(["b": "2", "a": "1"]).json() == #"{"a":"1","b":"2"}"#)
        #expect(v["A"] == 2)
        #expect(v["B"] == nil)
    }

    @Test func jsonEscapesLikeGo() {
        let s: TemplateValue = "<a&b> \"q\" \\ \u{8}\u{C}\n\r\t\u{1F} \u{2028} é"
        #expect(s.json() == #""<a&b> \"q\" \\ \b\f\n\r\t\u001f \u2028 é""#)
        #expect(s.json(escapeHTML: true) == #""\u003ca\u0026b\u003e \"q\" \\ \b\f\n\r\t\u001f \u2028 é""#)
    }

    @Test func parsesJSON() throws {
        let v = try TemplateValue(json: #" {"b": [1, -2, 2.5, true, null], "a": {"s": "x\u00e9\ud83d\ude00\n"}} "#)
        #expect(v == ["b": [1, -2, 2.5, true, nil], "a": ["s": "xé😀\n"]])
        #expect(v.json() == #"{"b":[1,-2,2.5,true,null],"a":{"s":"xé😀\n"}}"#)
        #expect(throws: FormattingError.self) { try TemplateValue(json: "{\"a\":}") }
        #expect(throws: FormattingError.self) { try TemplateValue(json: "[1] x") }
    }
}
