/// Answers the requests the router hands it.
///
/// A responder is built once per server and held in the router's table; `respond` is called on the connection's
/// event loop, once per request. It either answers and closes (`Connection.respondAndClose`) or takes the
/// connection over (`Connection.handOver`), possibly after waiting (`Connection.awaitAnswer`).
protocol Responder: Sendable {
    func respond(to request: Request, on connection: Connection)
}
