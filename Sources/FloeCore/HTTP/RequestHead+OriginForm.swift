extension RequestHead {
    /// The request target as a path and query (RFC 9112 §3.2.1's origin form), for a redirect that keeps it: the
    /// target itself when it starts with `/`; the part after the authority of an absolute one (`http://host/x?y`
    /// is `/x?y`); `/` otherwise (`*`). Appended to another origin, an absolute target made
    /// `https://host:8443http://elsewhere/` (found by a probe).
    public var originForm: String {
        if uri.hasPrefix("/") { return uri }
        guard let scheme = uri.range(of: "://") else { return "/" }
        let afterAuthority = uri[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" }
        guard let afterAuthority else { return "/" }
        let rest = uri[afterAuthority...]
        return rest.hasPrefix("/") ? String(rest) : "/" + rest
    }
}
