import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `strftime` formatting in the C locale, whatever the process's locale: HTTP dates, log time stamps and stats
/// need English day and month names, and dump-file names need the operator's pattern.
public enum TimeFormat {
    /// `date` in UTC, formatted with `pattern`.
    public static func utc(_ date: Date, _ pattern: String) -> String {
        format(date, pattern, local: false) ?? pattern
    }

    /// `date` in local time, formatted with `pattern`; `nil` when the result is empty or longer than 4 KiB.
    public static func local(_ date: Date, _ pattern: String) -> String? {
        format(date, pattern, local: true)
    }

    /// The C locale for time names, made once (`newlocale` allocates). `LC_TIME_MASK` is `1 << LC_TIME`; the
    /// macro does not import into Swift. Read-only after creation, so sharing it across threads is safe.
    nonisolated(unsafe) private static let cLocale = newlocale(1 << LC_TIME, "C", nil)

    private static func format(_ date: Date, _ pattern: String, local: Bool) -> String? {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        if local { localtime_r(&seconds, &parts) } else { gmtime_r(&seconds, &parts) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = strftime_l(&buffer, buffer.count, pattern, &parts, cLocale)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
