import SwarmAPI

/// Reads compose files into a `StackPlan`. (Being written: parsing, variable
/// substitution, merging and validation come with the compose work of #12.)
public enum ComposeLoader {}
