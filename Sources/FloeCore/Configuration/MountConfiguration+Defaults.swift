extension MountConfiguration {
    /// This mount with every setting it leaves unset taken from `defaults` (the default mount), as Icecast 2.4.4's
    /// `merge_mounts` does. Both loaders use it, so a mount means the same whichever file format it came from.
    ///
    /// - Optional settings: the mount's own value, else the default's.
    /// - Switches (`hidden`, `fallbackOverride`, `fallbackWhenFull`): on if either turns them on, because the model
    ///   cannot tell "off" from "not set".
    /// - `httpHeaders`: the mount's own list if it has one, else the default's (lists are not concatenated).
    /// - `fallbackMount`: a default fallback that names this very mount is not inherited. The default mount's
    ///   fallback (`/backup`) applies to every mount, `/backup` included, and `/backup` falling back to itself
    ///   would be a loop that nobody wrote.
    ///
    /// - Parameter mountPath: the path of this mount, for the `fallbackMount` rule.
    public func filled(from defaults: MountConfiguration, mountPath: String) -> MountConfiguration {
        var merged = self
        merged.username = username ?? defaults.username
        merged.password = password ?? defaults.password
        merged.maxListeners = maxListeners ?? defaults.maxListeners
        merged.maxListenersPerIP = maxListenersPerIP ?? defaults.maxListenersPerIP
        merged.streamName = streamName ?? defaults.streamName
        merged.streamDescription = streamDescription ?? defaults.streamDescription
        merged.streamURL = streamURL ?? defaults.streamURL
        merged.genre = genre ?? defaults.genre
        merged.metadataInterval = metadataInterval ?? defaults.metadataInterval
        merged.burstSize = burstSize ?? defaults.burstSize
        merged.queueSize = queueSize ?? defaults.queueSize
        merged.burstDuration = burstDuration ?? defaults.burstDuration
        merged.queueDuration = queueDuration ?? defaults.queueDuration
        merged.sourceTimeout = sourceTimeout ?? defaults.sourceTimeout
        merged.fallbackMount = fallbackMount ?? (defaults.fallbackMount == mountPath ? nil : defaults.fallbackMount)
        merged.fallbackOverride = fallbackOverride || defaults.fallbackOverride
        merged.fallbackWhenFull = fallbackWhenFull || defaults.fallbackWhenFull
        merged.redirectWhenFull = redirectWhenFull ?? defaults.redirectWhenFull
        merged.maxListenerDuration = maxListenerDuration ?? defaults.maxListenerDuration
        merged.intro = intro ?? defaults.intro
        merged.dumpFile = dumpFile ?? defaults.dumpFile
        merged.onConnect = onConnect ?? defaults.onConnect
        merged.onDisconnect = onDisconnect ?? defaults.onDisconnect
        merged.listenerAuthentication = listenerAuthentication ?? defaults.listenerAuthentication
        merged.httpHeaders = httpHeaders.isEmpty ? defaults.httpHeaders : httpHeaders
        merged.type = type ?? defaults.type
        merged.bitrate = bitrate ?? defaults.bitrate
        merged.hidden = hidden || defaults.hidden
        merged.public = self.public ?? defaults.public
        merged.charset = charset ?? defaults.charset
        merged.hls = hls ?? defaults.hls
        return merged
    }
}
