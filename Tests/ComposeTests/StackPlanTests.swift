import Compose
import SwarmAPI
import Testing

@Suite struct StackPlanTests {
    @Test func errorNamesFileLineAndColumn() {
        let error = ComposeError(file: "stack.yml", line: 14, column: 7, message: "deploy.replicas must be an integer, got \"three\"")
        #expect(error.description == "stack.yml:14:7: deploy.replicas must be an integer, got \"three\"")
        #expect(ComposeError(file: "stack.yml", message: "no services").description == "stack.yml: no services")
    }
}
