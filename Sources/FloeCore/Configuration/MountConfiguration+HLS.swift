extension MountConfiguration {
    /// Whether an HLS stream may carry this mount's audio: not when it has listener authentication, since HLS
    /// playlists and segments are plain files to any cache and carry no login. Checked for the mount asked for
    /// and for every mount its stream follows to (a fallback's audio would otherwise reach anyone).
    public var allowsHLS: Bool { listenerAuthentication == nil }
}
