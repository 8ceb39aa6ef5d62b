import Testing
import Formatting

/// Runs a template and returns its output (or the error message, so
/// expectations can compare both with one ==).
private func run(_ format: String, _ value: TemplateValue, missingKey: Template.MissingKey = .error) -> String {
    do {
        return try Template(parse: format).execute(value, missingKey: missingKey)
    } catch {
        return "error: \(error)"
    }
}

struct TemplateTests {
    let service: TemplateValue = [
        "ID": "kbd2l7w0abgm",
        "Name": "web",
        "Replicas": 3,
        "Up": true,
        "Spec": ["Name": "web", "Mode": ["Replicated": ["Replicas": 3]]],
        "Labels": ["com.example.tier": "front", "owner": "ops"],
        "Args": ["nginx", "-g", "daemon off;"],
        "Empty": [],
        "Nothing": nil,
    ]

    @Test func textAndFields() {
        #expect(run("plain text", service) == "plain text")
        #expect(run("{{.Name}}", service) == "web")
        #expect(run("id={{.ID}} name={{.Name}}", service) == "id=kbd2l7w0abgm name=web")
        #expect(run("{{.Spec.Mode.Replicated.Replicas}}", service) == "3")
        #expect(run("{{.Up}} {{.Replicas}}", service) == "true 3")
        #expect(run("{{.}}", "just a string") == "just a string")
    }

    @Test func goValuePrinting() {
        // fmt's %v: slices in brackets, maps sorted by key, nil as <nil>.
        #expect(run("{{.Args}}", service) == "[nginx -g daemon off;]")
        #expect(run("{{.Labels}}", service) == "map[com.example.tier:front owner:ops]")
        #expect(run("{{.Nothing}}", service) == "<nil>")
        #expect(run("{{.Empty}}", service) == "[]")
        #expect(run("{{.F}}", ["F": 1.5]) == "1.5")
        #expect(run("{{.F}}", ["F": 1000000.0]) == "1e+06")
        #expect(run("{{.F}}", ["F": 123456.0]) == "123456")
        #expect(run("{{.F}}", ["F": 0.00001]) == "1e-05")
        #expect(run("{{.F}}", ["F": -2.5e-3]) == "-0.0025")
    }

    @Test func json() {
        #expect(run("{{json .Spec}}", service) == #"{"Name":"web","Mode":{"Replicated":{"Replicas":3}}}"#)
        #expect(run("{{json .Args}}", service) == #"["nginx","-g","daemon off;"]"#)
        #expect(run("{{json .Nothing}}", service) == "null")
        #expect(run("{{json .Name}}", service) == #""web""#)
        #expect(run("{{json .}}", ["A": 1, "B": [true, false], "C": "x"]) == #"{"A":1,"B":[true,false],"C":"x"}"#)
        // docker's json function does not escape HTML; control characters use Go's escapes.
        #expect(run("{{json .S}}", ["S": "a\"b\\<c>&\n\t\u{1}"]) == #""a\"b\\<c>&\n\t\u0001""#)
        #expect(run("{{json .F}}", ["F": 1000000.0]) == "1000000")
        #expect(run("{{json .F}}", ["F": 1e21]) == "1e+21")
        #expect(run("{{json .F}}", ["F": 1e-7]) == "1e-7")
        #expect(run("{{json .F}}", ["F": 0.000001]) == "0.000001")
    }

    @Test func functions() {
        #expect(run(#"{{index .Labels "owner"}}"#, service) == "ops")
        #expect(run(#"{{index .Labels "missing"}}"#, service) == "")
        #expect(run("{{index .Args 1}}", service) == "-g")
        #expect(run(#"{{printf "%s has %d replicas (%v)" .Name .Replicas .Up}}"#, service) == "web has 3 replicas (true)")
        #expect(run(#"{{printf "%-6s|%4d|%04d" .Name .Replicas .Replicas}}"#, service) == "web   |   3|0003")
        #expect(run(#"{{printf "%d" .Name}}"#, service) == "%!d(string=web)")
        #expect(run(#"{{printf "%s %s" .Name}}"#, service) == "web %!s(MISSING)")
        #expect(run(#"{{printf "%s" .Name .ID}}"#, service) == "web%!(EXTRA string=kbd2l7w0abgm)")
        #expect(run(#"{{printf "100%%"}}"#, service) == "100%")
        #expect(run("{{upper .Name}} {{lower \"ABC\"}} {{title \"hello big world\"}}", service) == "WEB abc Hello Big World")
        #expect(run(#"{{join .Args ","}}"#, service) == "nginx,-g,daemon off;")
        #expect(run(#"{{range split "a,b,c" ","}}<{{.}}>{{end}}"#, service) == "<a><b><c>")
        #expect(run("{{len .Args}} {{len .Name}} {{len .Labels}}", service) == "3 3 2")
        #expect(run("{{pad .Name 1 2}}|{{truncate .ID 3}}", service) == " web  |kbd")
        #expect(run(#"{{print "a" "b" 1 2 "c"}}"#, service) == "ab1 2c")
        #expect(run("{{.Name}}{{println}}{{.ID}}", service) == "web\nkbd2l7w0abgm")
        #expect(run(#"{{println "a" 1}}"#, service) == "a 1\n")
    }

    @Test func pipelinesAndParentheses() {
        #expect(run("{{.Name | upper}}", service) == "WEB")
        #expect(run(#"{{.Name | printf "%s!"}}"#, service) == "web!")
        #expect(run(#"{{printf "%s" (upper .Name)}}"#, service) == "WEB")
        #expect(run(#"{{(index .Spec.Mode "Replicated").Replicas}}"#, service) == "3")
    }

    @Test func conditionals() {
        #expect(run("{{if .Up}}up{{else}}down{{end}}", service) == "up")
        #expect(run("{{if .Empty}}some{{else}}none{{end}}", service) == "none")
        #expect(run("{{if .Nothing}}x{{end}}", service) == "")
        #expect(run(#"{{if eq .Name "db"}}db{{else if eq .Name "web"}}web{{else}}other{{end}}"#, service) == "web")
        #expect(run(#"{{if and .Up (gt .Replicas 2)}}big{{end}}{{if not .Up}}down{{end}}"#, service) == "big")
        #expect(run(#"{{if or .Nothing "fallback"}}yes{{end}} {{or .Nothing "fallback"}}"#, service) == "yes fallback")
        #expect(run(#"{{if ne .Replicas 3}}a{{else}}b{{end}}{{if lt .Name "zzz"}}c{{end}}"#, service) == "bc")
        #expect(run("{{with .Spec}}{{.Name}}{{end}}{{with .Empty}}x{{else}}empty{{end}}", service) == "webempty")
    }

    @Test func ranges() {
        #expect(run("{{range .Args}}[{{.}}]{{end}}", service) == "[nginx][-g][daemon off;]")
        #expect(run("{{range .Empty}}x{{else}}no args{{end}}", service) == "no args")
        #expect(run("{{range $i, $a := .Args}}{{$i}}={{$a}} {{end}}", service) == "0=nginx 1=-g 2=daemon off; ")
        // Maps range in key order.
        #expect(run("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", service) == "com.example.tier:front;owner:ops;")
        #expect(run("{{range .Labels}}{{.}},{{end}}", service) == "front,ops,")
        // `$` is the top-level value inside a range.
        #expect(run("{{range .Args}}{{$.Name}}{{end}}", service) == "webwebweb")
    }

    @Test func moreControlForms() {
        #expect(run("{{ .Name }}", service) == "web")
        #expect(run(#"{{"}}"}}"#, service) == "}}")
        #expect(run("{{with .Nothing}}a{{else with .Spec}}{{.Name}}{{end}}", service) == "web")
        #expect(run("{{range $v := .Args}}{{$v}};{{end}}", service) == "nginx;-g;daemon off;;")
        #expect(run("{{range 3}}{{.}}{{end}}", service) == "012")
        #expect(run("{{range .Missing}}x{{else}}none{{end}}", service, missingKey: .noValue) == "none")
        // Variables declared inside a block end with it.
        #expect(run("{{if .Up}}{{$x := 1}}{{end}}{{$x}}", service) == #"error: template: :1: undefined variable "$x""#)
        #expect(run("{{range .Args}}{{else if .Up}}x{{end}}", service) == "error: template: :1: unexpected <if> in input")
    }

    @Test func dockerInspectPortsExample() {
        // From docker's inspect documentation.
        let container: TemplateValue = [
            "NetworkSettings": [
                "Ports": [
                    "80/tcp": [["HostIp": "0.0.0.0", "HostPort": "8080"]],
                    "443/tcp": [["HostIp": "0.0.0.0", "HostPort": "8443"]],
                ]
            ]
        ]
        let format = "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}"
        #expect(run(format, container) == " 443/tcp -> 8443  80/tcp -> 8080 ")
    }

    @Test func variables() {
        #expect(run("{{$n := .Name}}{{$n}}-{{$n}}", service) == "web-web")
        #expect(run("{{$n := 1}}{{if .Up}}{{$n = 2}}{{end}}{{$n}}", service) == "2")
        #expect(run("{{$s := .Spec}}{{$s.Mode.Replicated.Replicas}}", service) == "3")
    }

    @Test func trimMarkersAndComments() {
        #expect(run("a  {{- .Name -}}  b", service) == "awebb")
        #expect(run("a \n {{- .Name}} b", service) == "aweb b")
        #expect(run("{{23 -}} < {{- 45}}", service) == "23<45")
        // Without a space the dash is a minus sign.
        #expect(run("{{-3}}", service) == "-3")
        #expect(run("a{{/* note */}}b", service) == "ab")
        #expect(run("a {{- /* note */ -}} b", service) == "ab")
        #expect(run("{{range .Args -}}\n  {{.}}\n{{- end}}", service) == "nginx-gdaemon off;")
    }

    @Test func stringLiterals() {
        #expect(run(#"{{"tab\there"}}"#, service) == "tab\there")
        #expect(run("{{`raw\\n`}}", service) == "raw\\n")
        #expect(run(#"{{"\u00e9"}}"#, service) == "é")
    }

    @Test func missingKeys() {
        #expect(run("{{.Foo}}", service)
            == #"error: template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type object"#)
        #expect(run("{{.Foo}}", service, missingKey: .noValue) == "<no value>")
        #expect(run("{{.Foo.Bar}}", service, missingKey: .noValue) == "<no value>")
        // Go reports a field chain at its second element.
        #expect(run("{{.Name.Foo}}", service)
            == #"error: template: :1:7: executing "" at <.Name.Foo>: can't evaluate field Foo in type string"#)
        #expect(run("{{.Nothing.Foo}}", service)
            == #"error: template: :1:10: executing "" at <.Nothing.Foo>: nil pointer evaluating interface {}.Foo"#)
        let typed = Result { try Template(parse: "{{.ID}}\n  {{.Foo}}").execute(service, typeName: "*formatter.serviceContext") }
        #expect(throws: FormattingError(#"template: :2:4: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.serviceContext"#)) {
            try typed.get()
        }
    }

    @Test func executionErrors() {
        #expect(run("{{index .Args 5}}", service)
            == #"error: template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#)
        #expect(run("{{range .Name}}x{{end}}", service)
            == #"error: template: :1:8: executing "" at <.Name>: range can't iterate over web"#)
        #expect(run("{{upper .Replicas}}", service)
            == #"error: template: :1:8: executing "" at <.Replicas>: wrong type for value; expected string; got int"#)
        #expect(run("{{upper .Name .ID}}", service)
            == #"error: template: :1:2: executing "" at <upper .Name .ID>: wrong number of args for upper: want 1 got 2"#)
        #expect(run("{{.Name .ID}}", service)
            == #"error: template: :1:2: executing "" at <.Name>: can't give argument to non-function .Name"#)
    }

    @Test func parseErrors() {
        #expect(run("{{.Name", service) == "error: template: :1: unclosed action")
        #expect(run("{{if .Up}}x", service) == "error: template: :1: unexpected EOF")
        #expect(run("x{{end}}", service) == "error: template: :1: unexpected {{end}}")
        #expect(run("{{else}}", service) == "error: template: :1: unexpected {{else}}")
        #expect(run("a\n{{foo .Name}}", service) == #"error: template: :2: function "foo" not defined"#)
        #expect(run("{{}}", service) == "error: template: :1: missing value for command")
        #expect(run("{{.Name @}}", service) == "error: template: :1: unrecognized character in action: U+0040 '@'")
        #expect(run(#"{{"abc}}"#, service) == "error: template: :1: unterminated quoted string")
        #expect(run("{{$x}}", service) == #"error: template: :1: undefined variable "$x""#)
        #expect(run("{{(.Name}}", service) == "error: template: :1: unclosed left paren")
        #expect(run("{{/* x }}", service) == "error: template: :1: unclosed comment")
        #expect(run("{{.Name | 3}}", service) == "error: template: :1: non executable command in pipeline stage 2")
    }

    @Test func formatEscapes() {
        #expect(expandFormatEscapes(#"{{.A}}\t{{.B}}\n"#) == "{{.A}}\t{{.B}}\n")
        #expect(expandFormatEscapes(#"a\\b\x"#) == #"a\\b\x"#)
    }
}
