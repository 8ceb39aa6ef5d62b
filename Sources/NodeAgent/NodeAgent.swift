// The node agent (session, executor over Runtime) arrives with the cluster
// issue; the target exists so the module layout is fixed now.
import Runtime
import SwarmAPI
