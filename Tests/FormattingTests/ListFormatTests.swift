import Testing
import Formatting

struct ListFormatTests {
    // docker's `service ls` default table and headers.
    let serviceTable = "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}"
    let serviceHeaders = ["ID": "ID", "Name": "NAME", "Mode": "MODE", "Replicas": "REPLICAS", "Image": "IMAGE", "Ports": "PORTS"]
    let services: [TemplateValue] = [
        ["ID": "kbd2l7w0abgm", "Name": "web", "Mode": "replicated", "Replicas": "3/3", "Image": "nginx:latest", "Ports": "*:8080->80/tcp"],
        ["ID": "x9ttfc5n5a2u", "Name": "redis", "Mode": "global", "Replicas": "1/1", "Image": "redis:7", "Ports": ""],
    ]

    func render(_ format: String?, _ items: [TemplateValue]? = nil) throws -> String {
        try renderList(items: items ?? services, format: format, defaultTableFormat: serviceTable, headers: serviceHeaders)
    }

    @Test func defaultTable() throws {
        let expected = [
            "ID             NAME      MODE         REPLICAS   IMAGE          PORTS",
            "kbd2l7w0abgm   web       replicated   3/3        nginx:latest   *:8080->80/tcp",
            "x9ttfc5n5a2u   redis     global       1/1        redis:7        ",
            "",
        ].joined(separator: "\n")
        #expect(try render(nil) == expected)
        #expect(try render("") == expected)
        #expect(try render("table") == expected)
    }

    @Test func emptyListStillPrintsHeader() throws {
        #expect(try render(nil, []) == "ID        NAME      MODE      REPLICAS   IMAGE     PORTS\n")
    }

    @Test func customTableWithEscapes() throws {
        // Typed on a shell without $'…': the two characters \t become a tab.
        #expect(try render(#"table {{.Name}}\t{{.Replicas}}"#) == "NAME      REPLICAS\nweb       3/3\nredis     1/1\n")
        // Spaces around the part after "table" are dropped.
        #expect(try render("table   {{.Name}}  ") == "NAME\nweb\nredis\n")
    }

    @Test func headerPassKeepsHeadersIntact() throws {
        // In the header row json, upper, lower, join… return the header itself.
        #expect(try render("table {{upper .Name}}\t{{json .ID}}\t{{lower .Mode}}")
            == "NAME      ID               MODE\nWEB       \"kbd2l7w0abgm\"   replicated\nREDIS     \"x9ttfc5n5a2u\"   global\n")
    }

    @Test func servicePsHeaders() throws {
        let tasks: [TemplateValue] = [
            ["ID": "nql0ix3ulfa4", "Name": "web.1", "Image": "nginx:latest", "Node": "node-1",
             "DesiredState": "Running", "CurrentState": "Running 2 minutes ago", "Error": "", "Ports": ""]
        ]
        let format = "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}"
        let headers = ["ID": "ID", "Name": "NAME", "Image": "IMAGE", "Node": "NODE", "DesiredState": "DESIRED STATE",
                       "CurrentState": "CURRENT STATE", "Error": "ERROR", "Ports": "PORTS"]
        let out = try renderList(items: tasks, format: nil, defaultTableFormat: format, headers: headers)
        #expect(out == [
            "ID             NAME      IMAGE          NODE      DESIRED STATE   CURRENT STATE           ERROR     PORTS",
            "nql0ix3ulfa4   web.1     nginx:latest   node-1    Running         Running 2 minutes ago             ",
            "",
        ].joined(separator: "\n"))
    }

    @Test func customFormatIsOneLinePerItem() throws {
        #expect(try render("{{.Name}}: {{.Image}}") == "web: nginx:latest\nredis: redis:7\n")
        #expect(try render(#"{{.Name}}\t{{.Mode}}"#) == "web\treplicated\nredis\tglobal\n")
        #expect(try render("{{.ID}}", []) == "")
    }

    @Test func jsonFormat() throws {
        // Keys sorted and HTML escaped, as docker's rows marshal through a Go map.
        #expect(try render("json") == """
            {"ID":"kbd2l7w0abgm","Image":"nginx:latest","Mode":"replicated","Name":"web","Ports":"*:8080-\\u003e80/tcp","Replicas":"3/3"}
            {"ID":"x9ttfc5n5a2u","Image":"redis:7","Mode":"global","Name":"redis","Ports":"","Replicas":"1/1"}

            """)
        #expect(try render("{{json .}}") == (try render("json")))
        // A string field goes through docker's json function, which does not escape HTML.
        #expect(try render("{{json .Ports}}", [services[0]]) == "\"*:8080->80/tcp\"\n")
    }

    @Test func errorsReadLikeDockers() {
        #expect(throws: FormattingError(#"template parsing error: template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type object"#)) {
            try render("{{.Foo}}")
        }
        #expect(throws: FormattingError(#"template parsing error: template: :1: function "nope" not defined"#)) {
            try render("table {{nope .ID}}")
        }
        #expect(throws: FormattingError("template parsing error: template: :1: unclosed action")) {
            try render("{{.ID")
        }
    }
}
