// The manager (store, orchestrator, scheduler, dispatcher, API) arrives with
// the cluster issue; the target exists so the module layout is fixed now.
import SwarmAPI
