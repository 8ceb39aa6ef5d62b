import Compose
import FoundationEssentials
import SwarmAPI
import Testing

/// The walkthrough's stack (its docker-compose.yml, as its text describes
/// it): a web app on 5000 with 3 replicas, its database with an env file,
/// an init script by bind mount, and the visualizer on managers.
@Suite struct SeedStackTests {
    static let compose = """
        version: "3.8"
        services:
          web:
            image: venky8283/flask_app:3.0
            ports:
              - "5000:5000"
            links:
              - database
            depends_on:
              - database
            networks:
              - app
            deploy:
              replicas: 3
          database:
            image: mysql/mysql-server:5.7
            env_file: .env
            volumes:
              - ./db/init.sql:/docker-entrypoint-initdb.d/init.sql
              - db_data:/var/lib/mysql
            networks:
              - app
            deploy:
              replicas: 2
          viz:
            image: dockersamples/visualizer:latest
            ports:
              - "8080:8080"
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
            networks:
              - app
            deploy:
              placement:
                constraints: [node.role == manager]
        networks:
          app:
            driver: overlay
        volumes:
          db_data:

        """

    @Test func convertsToTheServicesAndNetworkDockerCreates() throws {
        let fixture = ComposeFixture([
            "docker-compose.yml": Self.compose,
            ".env": "MYSQL_ROOT_PASSWORD=root\nMYSQL_DATABASE=login\n",
            "db/init.sql": "CREATE TABLE users (name TEXT);\n",
        ])
        let plan = try fixture.load(["docker-compose.yml"], environment: [:], namespace: "login_app")
        #expect(plan.services.map(\.name) == ["login_app_database", "login_app_viz", "login_app_web"])
        #expect(plan.networks.map(\.name) == ["login_app_app"])
        #expect(plan.networks.first?.driverConfiguration?.name == "overlay")
        #expect(plan.networks.first?.labels == ["com.docker.stack.namespace": "login_app"])
        #expect(plan.warnings == ["Ignoring unsupported options: links"])

        let web = try #require(plan.services.last)
        #expect(web.mode == .replicas(3))
        #expect(web.labels == ["com.docker.stack.namespace": "login_app", "com.docker.stack.image": "venky8283/flask_app:3.0"])
        #expect(web.taskTemplate.containerSpec?.labels == ["com.docker.stack.namespace": "login_app"])
        #expect(web.endpointSpec == EndpointSpec(mode: "vip", ports: [PortConfig(protocol: "tcp", targetPort: 5000, publishedPort: 5000, publishMode: "ingress")]))
        #expect(web.taskTemplate.networks == [NetworkAttachmentConfig(target: "login_app_app", aliases: ["web"])])
        #expect(web.dependsOn == [ServiceDependency(service: "login_app_database", condition: .serviceStarted)])

        let database = plan.services[0]
        #expect(database.mode == .replicas(2))
        // The `.env` beside the file is the env_file here: its variables reach the container.
        #expect(database.taskTemplate.containerSpec?.env == ["MYSQL_DATABASE=login", "MYSQL_ROOT_PASSWORD=root"])
        let mounts = try #require(database.taskTemplate.containerSpec?.mounts)
        #expect(mounts[0] == Mount(type: "bind", source: fixture.path("db/init.sql"), target: "/docker-entrypoint-initdb.d/init.sql"))
        var volume = Mount(type: "volume", source: "login_app_db_data", target: "/var/lib/mysql")
        volume.volumeOptions = .init(labels: ["com.docker.stack.namespace": "login_app"])
        #expect(mounts[1] == volume)

        let viz = plan.services[1]
        #expect(viz.taskTemplate.placement?.constraints == ["node.role == manager"])
        #expect(viz.endpointSpec?.ports?.first?.publishedPort == 8080)
        #expect(viz.mode == .replicas(1))
    }
}
