import SwarmAPI

/// Reads compose files into a `StackPlan`. (Being written: parsing, variable
/// substitution, merging and validation come with the compose work of #12.)
public enum ComposeLoader {
    public static func load(files: [String], environment: [String: String], namespace: String) throws(ComposeError) -> StackPlan {
        throw ComposeError(file: files.first ?? "", message: "compose files are not read yet")
    }
}
