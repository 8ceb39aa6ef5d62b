import SwarmAPI
import Compose
import Testing

/// Variable substitution in values, as Docker's: each case puts `value` in
/// a label and reads what the service gets.
@Suite struct InterpolationTests {
    struct Case: CustomStringConvertible, Sendable {
        var value: String
        var expected: String
        var description: String { value }
    }

    static let environment = ["NAME": "web", "EMPTY": "", "TAG": "1.2"]

    @Test(arguments: [
        Case(value: "${NAME}", expected: "web"),
        Case(value: "$NAME", expected: "web"),
        Case(value: "x-$NAME-y", expected: "x-web-y"),
        Case(value: "${MISSING:-fallback}", expected: "fallback"),
        Case(value: "${EMPTY:-fallback}", expected: "fallback"),
        Case(value: "${EMPTY-fallback}", expected: ""),
        Case(value: "${MISSING-fallback}", expected: "fallback"),
        Case(value: "${NAME:-fallback}", expected: "web"),
        Case(value: "${NAME:?must be set}", expected: "web"),
        Case(value: "${EMPTY?must be set}", expected: ""),
        Case(value: "${NAME:+set}", expected: "set"),
        Case(value: "${EMPTY:+set}", expected: ""),
        Case(value: "${MISSING:-${NAME}-${TAG}}", expected: "web-1.2"),
        Case(value: "$$NAME", expected: "$NAME"),
        Case(value: "cost: $$5", expected: "cost: $5"),
        Case(value: "${MISSING}", expected: ""),
    ])
    func substitutes(_ test: Case) throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: nginx
                labels:
                  value: '\(test.value)'

            """])
        let plan = try fixture.load(environment: Self.environment)
        #expect(plan.services[0].taskTemplate.containerSpec?.labels?["value"] == test.expected)
    }

    @Test func unsetVariableIsBlankWithOneWarning() throws {
        let fixture = ComposeFixture(["stack.yml": """
            services:
              web:
                image: "nginx:${TAG}"
                hostname: ${TAG}

            """])
        let plan = try fixture.load()
        #expect(plan.services[0].taskTemplate.containerSpec?.image == "nginx:")
        #expect(plan.warnings == ["The \"TAG\" variable is not set. Defaulting to a blank string."])
    }

    @Test func dotEnvBesideTheFirstFileAddsToTheEnvironmentWhichWins() throws {
        let fixture = ComposeFixture([
            "stack.yml": """
                services:
                  web:
                    image: nginx:${TAG}
                    deploy:
                      replicas: ${REPLICAS}

                """,
            ".env": "# defaults\nTAG=\"1.25\"\nREPLICAS=4\n",
        ])
        let plan = try fixture.load()
        #expect(plan.services[0].taskTemplate.containerSpec?.image == "nginx:1.25")
        #expect(plan.services[0].mode == .replicas(4))
        let overridden = try fixture.load(environment: ["TAG": "1.27"])
        #expect(overridden.services[0].taskTemplate.containerSpec?.image == "nginx:1.27")
    }
}
