import FloeCore
import Foundation

/// RFC 1123 dates for the `Date:` header (`Sat, 21 Nov 2026 15:20:52 GMT`).
enum HTTPDate {
    /// The current time, formatted.
    static func now() -> String {
        TimeFormat.utc(Date(), "%a, %d %b %Y %H:%M:%S GMT")
    }
}
