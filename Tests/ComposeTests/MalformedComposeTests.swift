import SwarmAPI
import Compose
import Testing

/// Files that must be refused before anything is created, each with the
/// exact message: file, line, column and what was expected.
@Suite struct MalformedComposeTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var yaml: String
        var message: String
        var environment: [String: String] = [:]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "wrong type", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  replicas: three
            """, message: #"stack.yml:5:7: deploy.replicas must be an integer, got "three""#),
        Case(name: "unknown top-level key", yaml: """
            services:
              web:
                image: nginx
            servics:
              db: {}
            """, message: "stack.yml:4:1: unknown top-level key 'servics' (expected version, services, networks, volumes, secrets or configs)"),
        Case(name: "bad duration", yaml: """
            services:
              web:
                image: nginx
                stop_grace_period: 10 seconds
            """, message: #"stack.yml:4:5: stop_grace_period must be a duration (like 10s, 1m30s or 500ms), got "10 seconds""#),
        Case(name: "duration without unit", yaml: """
            services:
              web:
                image: nginx
                healthcheck:
                  interval: 30
            """, message: "stack.yml:5:7: healthcheck.interval must be a duration (like 10s, 1m30s or 500ms), got 30"),
        Case(name: "bad port", yaml: """
            services:
              web:
                image: nginx
                ports:
                  - "5000:abc"
            """, message: #"stack.yml:5:9: invalid port "5000:abc": invalid containerPort: abc"#),
        Case(name: "bad port protocol", yaml: """
            services:
              web:
                image: nginx
                ports: ["53:53/icmp"]
            """, message: #"stack.yml:4:13: invalid port "53:53/icmp": invalid proto: icmp"#),
        Case(name: "bad long port mode", yaml: """
            services:
              web:
                image: nginx
                ports:
                  - target: 80
                    mode: everywhere
            """, message: #"stack.yml:6:9: ports.mode must be ingress or host, got "everywhere""#),
        Case(name: "missing image", yaml: """
            services:
              web:
                build: .
            """, message: #"stack.yml:2:3: service "web" has no image (swarm runs images; build: is not supported)"#),
        Case(name: "undefined network", yaml: """
            services:
              web:
                image: nginx
                networks:
                  - back
            """, message: #"stack.yml:5:9: service web: undefined network "back""#),
        Case(name: "undefined secret", yaml: """
            services:
              web:
                image: nginx
                secrets:
                  - source: token
                    target: api-token
            """, message: #"stack.yml:5:9: service web: undefined secret "token""#),
        Case(name: "undefined config", yaml: """
            services:
              web:
                image: nginx
                configs: [site]
            """, message: #"stack.yml:4:15: service web: undefined config "site""#),
        Case(name: "undefined volume", yaml: """
            services:
              web:
                image: nginx
                volumes:
                  - data:/data
            """, message: #"stack.yml:5:9: service web: undefined volume "data""#),
        Case(name: "required variable unset", yaml: """
            services:
              web:
                image: nginx:${TAG:?set TAG to the release}
            """, message: "stack.yml:3:12: required variable TAG is missing a value: set TAG to the release"),
        Case(name: "required variable empty", yaml: """
            services:
              web:
                image: nginx:${TAG:?}
            """, message: "stack.yml:3:12: required variable TAG is missing a value", environment: ["TAG": ""]),
        Case(name: "invalid interpolation", yaml: """
            services:
              web:
                image: nginx
                command: echo ${1bad}
            """, message: #"stack.yml:4:14: invalid interpolation format for services.web.command: "echo ${1bad}"; you may need to escape any $ with another $"#),
        Case(name: "YAML syntax error", yaml: """
            services:
              web:
                image: nginx
               ports: []
            """, message: "stack.yml:4:4: invalid YAML: did not find expected key (while parsing a block mapping at line 2, column 3)"),
        Case(name: "YAML unclosed quote", yaml: """
            services:
              web:
                image: "nginx
            """, message: "stack.yml:4:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 3, column 12)"),
        Case(name: "services not a mapping", yaml: """
            services:
              - web
            """, message: "stack.yml:1:1: services must be a mapping, got a list"),
        Case(name: "boolean expected", yaml: """
            services:
              web:
                image: nginx
                read_only: sometimes
            """, message: #"stack.yml:4:5: read_only must be a boolean (true or false), got "sometimes""#),
        Case(name: "unknown deploy mode", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  mode: everywhere
            """, message: #"stack.yml:5:7: deploy.mode must be replicated or global, got "everywhere""#),
        Case(name: "replicas with global", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  mode: global
                  replicas: 2
            """, message: #"stack.yml:5:7: replicas can only be used with replicated mode (service "web" is global)"#),
        Case(name: "bad memory size", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  resources:
                    limits:
                      memory: lots
            """, message: #"stack.yml:7:11: deploy.resources.limits.memory must be a size (like 512M or 1g), got "lots""#),
        Case(name: "refused key", yaml: """
            services:
              web:
                image: nginx
                dns: [10.0.0.2]
            """, message: "stack.yml:4:5: dns is not supported yet by swarm; remove it from the file"),
        Case(name: "sysctl outside the container's namespaces", yaml: """
            services:
              web:
                image: nginx
                sysctls:
                  - kernel.pid_max=100000
            """, message: #"stack.yml:4:5: sysctls: sysctl "kernel.pid_max" is not allowed: only namespaced ones are (net.* with its own network, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)"#),
        Case(name: "ulimit soft over hard", yaml: """
            services:
              web:
                image: nginx
                ulimits:
                  nofile:
                    soft: 4096
                    hard: 1024
            """, message: "stack.yml:5:7: ulimits.nofile: ulimit soft limit must be less than or equal to hard limit: 4096 > 1024"),
        Case(name: "unknown ulimit", yaml: """
            services:
              web:
                image: nginx
                ulimits:
                  files: 10
            """, message: "stack.yml:5:7: ulimits.files: invalid ulimit type: files"),
        Case(name: "placement preference not a spread", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  placement:
                    preferences:
                      - pack: node.labels.zone
            """, message: "stack.yml:7:13: unknown key 'pack' in deploy.placement.preferences (expected spread)"),
        Case(name: "depends_on undefined service", yaml: """
            services:
              web:
                image: nginx
                depends_on: [db]
            """, message: #"stack.yml:4:18: service web depends on undefined service "db""#),
        Case(name: "depends_on unsupported condition", yaml: """
            services:
              web:
                image: nginx
                depends_on:
                  db:
                    condition: service_completed_successfully
              db:
                image: postgres
            """, message: #"stack.yml:6:9: depends_on.db.condition must be service_started or service_healthy, got "service_completed_successfully""#),
        Case(name: "depends_on cycle", yaml: """
            services:
              a:
                image: nginx
                depends_on: [b]
              b:
                image: nginx
                depends_on: [a]
            """, message: "stack.yml:2:3: depends_on: dependency cycle: a -> b -> a"),
        Case(name: "old version", yaml: """
            version: "2.4"
            services:
              web:
                image: nginx
            """, message: "stack.yml:1:1: unsupported Compose file version: 2.4 (stack deploy reads version 3.x and the Compose Specification)"),
        Case(name: "bad constraint", yaml: """
            services:
              web:
                image: nginx
                deploy:
                  placement:
                    constraints: [node.role]
            """, message: #"stack.yml:6:23: deploy.placement.constraints: invalid constraint "node.role" (like node.role==manager)"#),
        Case(name: "no services", yaml: """
            version: "3.8"
            networks:
              front: {}
            """, message: "stack.yml: no services: a stack needs at least one service under services:"),
        Case(name: "relative volume target", yaml: """
            services:
              web:
                image: nginx
                volumes: ["data:data"]
            volumes:
              data:
            """, message: #"stack.yml:4:15: invalid volume "data:data": the target must be an absolute path"#),
        Case(name: "secret file missing", yaml: """
            services:
              web:
                image: nginx
            secrets:
              token:
                file: ./missing.txt
            """, message: "stack.yml:6:5: secrets.token.file: cannot read DIR/missing.txt"),
    ]

    @Test(arguments: cases)
    func refused(_ test: Case) {
        let fixture = ComposeFixture(["stack.yml": test.yaml + "\n"])
        #expect(fixture.message(environment: test.environment) == test.message)
    }

    @Test func errorInASecondFileNamesThatFile() {
        let fixture = ComposeFixture([
            "stack.yml": "services:\n  web:\n    image: nginx\n",
            "override.yml": "services:\n  web:\n    deploy:\n      replicas: -1\n",
        ])
        #expect(fixture.message(["stack.yml", "override.yml"]) == "override.yml:4:7: deploy.replicas must not be negative, got -1")
    }

    @Test func missingEnvFile() {
        let fixture = ComposeFixture(["stack.yml": "services:\n  web:\n    image: nginx\n    env_file: db.env\n"])
        #expect(fixture.message() == "stack.yml:4:5: cannot read env file DIR/db.env: no such file or not readable")
    }
}
