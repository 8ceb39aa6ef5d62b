import Compose
import SwarmAPI
import Testing

@Suite struct ComposeLoaderTests {
    @Test func environmentListMapEnvFileAndCallerValues() throws {
        let fixture = ComposeFixture([
            "stack.yml": """
                services:
                  list:
                    image: nginx
                    env_file: [common.env, ./more.env]
                    environment:
                      - SHARED=from-environment
                      - FROM_CALLER
                      - NOT_SET
                  map:
                    image: nginx
                    environment:
                      A: 1
                      B: "two words"
                      FROM_CALLER:

                """,
            "common.env": "# comment\n\nSHARED=from-file\nFILE_ONLY=yes = really\n  INDENTED=ok\nPASSED\n",
            "more.env": "MORE=1\n",
        ])
        let plan = try fixture.load(environment: ["FROM_CALLER": "caller", "PASSED": "through"])
        let list = plan.services.first { $0.name == "app_list" }?.taskTemplate.containerSpec?.env
        #expect(list == ["FILE_ONLY=yes = really", "FROM_CALLER=caller", "INDENTED=ok", "MORE=1", "NOT_SET", "PASSED=through",
                         "SHARED=from-environment"])
        let map = plan.services.first { $0.name == "app_map" }?.taskTemplate.containerSpec?.env
        #expect(map == ["A=1", "B=two words", "FROM_CALLER=caller"])
    }

    @Test func portsShortAndLong() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: nginx
                ports:
                  - "5000:5000"
                  - 53:53/udp
                  - "8080"
                  - "127.0.0.1:9000:90"
                  - "3000-3001:4000-4001"
                  - target: 443
                    published: 8443
                    protocol: tcp
                    mode: host
                  - target: 6000

            """])
        let ports = try fixture.load().services[0].endpointSpec?.ports
        #expect(ports == [
            PortConfig(protocol: "tcp", targetPort: 6000, publishedPort: nil, publishMode: "ingress"),
            PortConfig(protocol: "tcp", targetPort: 8080, publishedPort: nil, publishMode: "ingress"),
            PortConfig(protocol: "udp", targetPort: 53, publishedPort: 53, publishMode: "ingress"),
            PortConfig(protocol: "tcp", targetPort: 4000, publishedPort: 3000, publishMode: "ingress"),
            PortConfig(protocol: "tcp", targetPort: 4001, publishedPort: 3001, publishMode: "ingress"),
            PortConfig(protocol: "tcp", targetPort: 5000, publishedPort: 5000, publishMode: "ingress"),
            PortConfig(protocol: "tcp", targetPort: 443, publishedPort: 8443, publishMode: "host"),
            PortConfig(protocol: "tcp", targetPort: 90, publishedPort: 9000, publishMode: "ingress"),
        ])
    }

    @Test func volumesShortAndLongTmpfsAndExternal() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              db:
                image: postgres
                read_only: true
                tmpfs: /run
                volumes:
                  - data:/var/lib/postgresql/data
                  - ./conf/pg.conf:/etc/pg.conf:ro
                  - /cache
                  - shared:/shared:nocopy
                  - type: bind
                    source: ../outside
                    target: /outside
                    read_only: true
                  - type: tmpfs
                    target: /scratch
                    tmpfs:
                      size: 64m
                  - type: volume
                    source: named
                    target: /named
            volumes:
              data:
                labels:
                  backup: daily
              shared:
                external: true
              named:
                name: my-volume

            """])
        let container = try #require(try fixture.load().services[0].taskTemplate.containerSpec)
        #expect(container.readOnly == true)
        let mounts = try #require(container.mounts)
        var data = Mount(type: "volume", source: "app_data", target: "/var/lib/postgresql/data")
        data.volumeOptions = .init(labels: ["backup": "daily", "com.docker.stack.namespace": "app"])
        var shared = Mount(type: "volume", source: "shared", target: "/shared")
        shared.volumeOptions = .init(noCopy: true)
        var scratch = Mount(type: "tmpfs", source: nil, target: "/scratch")
        scratch.tmpfsOptions = .init(sizeBytes: 64 * 1024 * 1024)
        var named = Mount(type: "volume", source: "my-volume", target: "/named")
        named.volumeOptions = .init(labels: ["com.docker.stack.namespace": "app"])
        let parent = String(fixture.directory[..<fixture.directory.lastIndex(of: "/")!])
        #expect(mounts == [
            data,
            Mount(type: "bind", source: fixture.path("conf/pg.conf"), target: "/etc/pg.conf", readOnly: true),
            Mount(type: "volume", source: nil, target: "/cache"),
            shared,
            Mount(type: "bind", source: parent + "/outside", target: "/outside", readOnly: true),
            scratch,
            named,
            Mount(type: "tmpfs", source: nil, target: "/run"),
        ])
    }

    @Test func severalFilesMergeAsDockerMergesThem() throws {
        let fixture = ComposeFixture([
            "stack.yml": """
                version: "3.8"
                services:
                  web:
                    image: web:1
                    command: ["serve", "--port", "80"]
                    environment: {A: "1", B: "1"}
                    ports: ["80:80", "443:443"]
                    volumes: ["data:/data", "./a:/a"]
                    labels: [x=1]
                    cap_add: [NET_ADMIN]
                    deploy:
                      replicas: 2
                      labels: {tier: front}
                      update_config: {parallelism: 2, delay: 10s}
                  db:
                    image: db:1
                volumes:
                  data: {}
                networks:
                  back: {driver: overlay}

                """,
            "prod.yml": """
                services:
                  web:
                    image: web:2
                    command: serve --port 8080
                    environment: [B=2, C=3]
                    ports: ["443:443", "8080:80"]
                    volumes: ["./b:/a"]
                    labels: {y: "2"}
                    cap_add: [SYS_TIME]
                    networks: [back]
                    deploy:
                      replicas: 5
                      update_config: {order: start-first}
                  cache:
                    image: redis

                """,
        ])
        let plan = try fixture.load(["stack.yml", "prod.yml"])
        #expect(plan.services.map(\.name) == ["app_cache", "app_db", "app_web"])
        let web = plan.services[2]
        let container = try #require(web.taskTemplate.containerSpec)
        #expect(container.image == "web:2")
        #expect(container.args == ["serve", "--port", "8080"])
        #expect(container.env == ["A=1", "B=2", "C=3"])
        #expect(web.endpointSpec?.ports?.map(\.publishedPort) == [80, 443, 8080])
        #expect(container.mounts?.map(\.target) == ["/a", "/data"])
        #expect(container.mounts?.first?.source == fixture.path("b"))
        #expect(container.labels == ["x": "1", "y": "2", "com.docker.stack.namespace": "app"])
        #expect(container.capabilityAdd == ["NET_ADMIN", "SYS_TIME"])
        #expect(web.mode == .replicas(5))
        #expect(web.labels?["tier"] == "front")
        #expect(web.updateConfig?.parallelism == 2)
        #expect(web.updateConfig?.delay == 10_000_000_000)
        #expect(web.updateConfig?.order == "start-first")
        #expect(web.taskTemplate.networks == [NetworkAttachmentConfig(target: "app_back", aliases: ["web"])])
        // db and cache are on the default network, web only on back.
        #expect(plan.networks.map(\.name) == ["app_back", "app_default"])
    }

    @Test func dependsOnListAndMap() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: web
                depends_on: [api]
              api:
                image: api
                depends_on:
                  db:
                    condition: service_healthy
                  cache:
                    condition: service_started
              db:
                image: db
                healthcheck:
                  test: pg_isready
                  interval: 1m30s
                  timeout: 500ms
                  start_period: 1.5s
                  retries: 3
              cache:
                image: redis
                healthcheck:
                  disable: true

            """])
        let plan = try fixture.load()
        let byName = Dictionary(uniqueKeysWithValues: plan.services.map { ($0.name, $0) })
        #expect(byName["app_web"]?.dependsOn == [ServiceDependency(service: "app_api")])
        #expect(byName["app_api"]?.dependsOn == [ServiceDependency(service: "app_db", condition: .serviceHealthy),
                                                 ServiceDependency(service: "app_cache", condition: .serviceStarted)])
        #expect(byName["app_db"]?.dependsOn == nil)
        #expect(byName["app_db"]?.taskTemplate.containerSpec?.healthcheck == HealthConfig(
            test: ["CMD-SHELL", "pg_isready"], interval: 90_000_000_000, timeout: 500_000_000, startPeriod: 1_500_000_000, retries: 3))
        #expect(byName["app_cache"]?.taskTemplate.containerSpec?.healthcheck == HealthConfig(test: ["NONE"]))
    }

    @Test func unsupportedDeprecatedAndUnknownKeysAreWarnings() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: nginx
                build: .
                links: [db]
                container_name: web
                colour: blue
                x-note: extension keys are fine
              db:
                image: db
                privileged: true
                build:
                  context: .

            """])
        let plan = try fixture.load()
        #expect(plan.warnings == [
            "Ignoring unsupported options: build, links, privileged",
            "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.",
            fixture.path("stack.yml") + ":7:5: unknown key 'colour' in service \"web\" (ignored)",
        ])
    }

    @Test func everyOtherConvertedKey() throws {
        let fixture = ComposeFixture([
            "stack.yml": """
                services:
                  api:
                    image: api:1
                    entrypoint: /bin/sh -c 'exec "$$0" serve'
                    command: ["--verbose"]
                    hostname: api-host
                    user: "1000:1000"
                    working_dir: /srv
                    stop_grace_period: 1m
                    stop_signal: SIGINT
                    init: true
                    cap_drop: [ALL]
                    restart: on-failure:3
                    networks:
                      front:
                        aliases: [api.local]
                      outside:
                    secrets:
                      - token
                      - source: cert
                        target: /certs/api.pem
                        uid: "100"
                        mode: 0400
                    configs:
                      - app_conf
                    deploy:
                      mode: global
                      endpoint_mode: dnsrr
                      placement:
                        max_replicas_per_node: 2
                      resources:
                        limits: {cpus: "0.5", memory: 512M, pids: 100}
                        reservations: {cpus: 0.25, memory: 1g}
                      rollback_config: {failure_action: pause, monitor: 5s, max_failure_ratio: 0.1}
                networks:
                  front:
                    attachable: true
                    internal: true
                    labels: {team: a}
                    ipam:
                      config:
                        - subnet: 10.20.0.0/24
                          gateway: 10.20.0.1
                  outside:
                    external: true
                    name: shared-net
                secrets:
                  token:
                    file: ./token.txt
                  cert:
                    external: true
                configs:
                  app_conf:
                    name: app-conf-v2
                    file: conf/app.conf
                    labels: [v=2]

                """,
            "token.txt": "s3cret",
            "conf/app.conf": "debug = false\n",
        ])
        let plan = try fixture.load()
        let api = plan.services[0]
        let container = try #require(api.taskTemplate.containerSpec)
        #expect(container.command == ["/bin/sh", "-c", "exec \"$0\" serve"])
        #expect(container.args == ["--verbose"])
        #expect(container.hostname == "api-host")
        #expect(container.user == "1000:1000")
        #expect(container.dir == "/srv")
        #expect(container.stopGracePeriod == 60_000_000_000)
        #expect(container.stopSignal == "SIGINT")
        #expect(container.`init` == true)
        #expect(container.capabilityDrop == ["ALL"])
        #expect(api.taskTemplate.restartPolicy == RestartPolicy(condition: .onFailure, maxAttempts: 3))
        #expect(api.mode == ServiceMode(global: .init()))
        #expect(api.endpointSpec == EndpointSpec(mode: "dnsrr"))
        #expect(api.taskTemplate.placement == Placement(maxReplicas: 2))
        #expect(api.taskTemplate.resources == ResourceRequirements(
            limits: Limits(nanoCPUs: 500_000_000, memoryBytes: 512 * 1024 * 1024, pids: 100),
            reservations: Resources(nanoCPUs: 250_000_000, memoryBytes: 1024 * 1024 * 1024)))
        var rollback = UpdateConfig(parallelism: 1)
        rollback.failureAction = "pause"; rollback.monitor = 5_000_000_000; rollback.maxFailureRatio = 0.1
        #expect(api.rollbackConfig == rollback)
        #expect(api.taskTemplate.networks == [NetworkAttachmentConfig(target: "app_front", aliases: ["api.local", "api"]),
                                             NetworkAttachmentConfig(target: "shared-net", aliases: ["api"])])
        #expect(container.secrets == [
            SecretReference(file: FileTarget(name: "token"), secretID: "", secretName: "app_token"),
            SecretReference(file: FileTarget(name: "/certs/api.pem", uid: "100", gid: "0", mode: 0o400), secretID: "", secretName: "cert"),
        ])
        #expect(container.configs == [ConfigReference(file: FileTarget(name: "app_conf"), configID: "", configName: "app-conf-v2")])

        #expect(plan.networks.count == 1)
        let front = plan.networks[0]
        #expect(front.name == "app_front")
        #expect(front.attachable == true && front.internal == true)
        #expect(front.labels == ["team": "a", "com.docker.stack.namespace": "app"])
        #expect(front.ipamOptions?.configs == [IPAMConfig(subnet: "10.20.0.0/24", gateway: "10.20.0.1")])
        #expect(plan.externalNetworks == ["shared-net"])
        #expect(plan.secrets == [SecretSpec(name: "app_token", labels: ["com.docker.stack.namespace": "app"], data: "czNjcmV0")])
        #expect(plan.externalSecrets == ["cert"])
        #expect(plan.configs == [SecretSpec(name: "app-conf-v2", labels: ["v": "2", "com.docker.stack.namespace": "app"],
                                            data: "ZGVidWcgPSBmYWxzZQo=")])
        #expect(plan.externalConfigs == [])
    }

    @Test func extensionFieldsAnchorsAndMergeKeys() throws {
        let fixture = ComposeFixture(["stack.yml": """
            x-defaults: &defaults
              image: base:1
              environment: {MODE: prod}
              deploy:
                replicas: 2
            services:
              a:
                <<: *defaults
              b:
                <<: *defaults
                image: other:2
                x-owner: team-b

            """])
        let plan = try fixture.load()
        #expect(plan.services.map { $0.taskTemplate.containerSpec?.image } == ["base:1", "other:2"])
        #expect(plan.services.map(\.mode) == [.replicas(2), .replicas(2)])
        #expect(plan.services[1].taskTemplate.containerSpec?.env == ["MODE=prod"])
        #expect(plan.warnings.isEmpty)
    }

    @Test func refusedKeysAskingForNothingPass() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: nginx
                tty: false
                dns: []
                sysctls: {}

            """])
        #expect(try fixture.load().services.count == 1)
    }
}
