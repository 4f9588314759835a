import NIOCore
import NIOHTTP1

/// Receives a streamed response, on the connection's event loop.
///
/// The body arrives as the server sends it, unframed (an Icecast stream has no length: it ends when the server
/// closes). The next read from the socket waits for the future `didReceiveBodyPart` returns, so a consumer
/// slower than the server slows the server through TCP instead of buffering without bound.
public protocol HTTPClientResponseDelegate: AnyObject {
    /// The final response head (after redirects), of any status.
    func didReceiveHead(_ head: HTTPResponseHead)
    /// The next bytes of the body.
    func didReceiveBodyPart(_ bytes: ByteBuffer) -> EventLoopFuture<Void>
    /// The body ended: all of it arrived, or the server closed a body of unknown length.
    func didFinish()
    /// The request failed: no connection, no head in time, a malformed response, a stall, or a cut body.
    func didFail(_ error: HTTPClientError)
}

/// Why a request failed.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
