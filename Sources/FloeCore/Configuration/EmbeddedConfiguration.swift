/// The configuration Floe runs on when it is given no configuration file, as the YAML text of a main file.
///
/// It doubles as the reference of the native format: every option appears with its default, most of them commented
/// out, so reading it tells the whole story. `floe.example.yaml` at the repository root is the same text (a test
/// keeps them identical) for operators to copy. `floe check-config` without a file prints the effective
/// configuration this text produces.
///
/// Safe on any machine: it listens on loopback only and sets no password. With no source password no source can
/// log in, so the `floe` command generates source and admin passwords at each start when it runs without a file.
/// Its mounts directory is `mounts` in the current directory, read when it exists.
public enum EmbeddedConfiguration {
    /// The name errors in ``yaml`` are reported against.
    public static let fileName = "(embedded default)"

    /// The YAML text; see the type's documentation.
    public static let yaml = #"""
        # Floe configuration
        #
        # This is Floe's built-in configuration: Floe runs on it when started without a configuration file, and
        # `floe check-config` without a file prints what it amounts to. The same text ships as floe.example.yaml;
        # copy that file, change what you need, and check it with `floe check-config FILE`.
        #
        # Every option is listed with its default value; an option left out (or commented out) has that default.
        # Where a comment says "not set", `~` or an empty value also means "not set". Unknown options are errors,
        # so a misspelt option never goes unnoticed.
        #
        # Values: sizes are bytes, written as a whole number or with KiB or MiB (`512 KiB`); durations are seconds,
        # fractions allowed; switches are true or false. Quote text that YAML would otherwise read differently,
        # such as "*" or "-".

        # Sockets Floe accepts listeners, sources and admin requests on. At least one; no two on the same port.
        listen:
          - port: 8000                    # 0 lets the system pick a free port
            bind-address: 127.0.0.1       # loopback only; leave out to listen on every interface
            # shoutcast-mount: /live      # also take a SHOUTcast v1 source for /live on port + 1 (8001)
            # tls: off                    # off: plain HTTP; on: TLS only (plain requests get a clear error, or an
            #                             # upgrade when they ask for one); auto: TLS and plain HTTP on this port.
            #                             # on and auto need the certificate below

        # The certificate every TLS socket presents. SIGHUP reads it again, so a renewed certificate needs no
        # restart; a file that cannot be read then keeps the old one in use.
        # tls:
        #   certificate: /etc/floe/fullchain.pem   # PEM: the certificate chain, leaf first; may hold the key too
        #   key: /etc/floe/privkey.pem             # PEM private key; not set: read from the certificate file
        #   ciphers:                               # OpenSSL cipher list for TLS 1.2; not set: modern suites only

        # Floe's own requests (URL authentication services, relays) check https certificates against the
        # system's store, and also against these CAs when set (a private CA).
        # http-client:
        #   ca-file: /etc/floe/private-ca.pem

        # Who may log in. Passwords that are not set refuse every login of that kind. When Floe runs without a
        # configuration file, it generates the source and admin passwords at each start and prints them
        # (FLOE_SOURCE_PASSWORD and FLOE_ADMIN_PASSWORD fix them).
        authentication:
          # source-user: source           # the user sources log in as; a mount's username replaces it
          # source-password:              # not set; a mount's own password replaces it on that mount
          # admin-user: admin             # for /admin/*
          # admin-password:               # not set
          # relay-user: relay             # for /admin/streamlist.txt
          # relay-password:               # not set

        limits:
          # clients: 10000                # connections of every kind at once: listeners, sources, admin
          # sources: 16                   # sources at once
          # queue-size: 512 KiB           # stream kept per mount; a listener further behind is dropped
          # burst-size: 64 KiB            # recent stream a new listener gets at once, so players start quickly
          # queue-duration:               # seconds of play time instead of queue-size (by the frame clock)
          # burst-duration:               # seconds instead of burst-size: 4 s is 64 KiB at 128 kbit/s, 32 KiB at
          #                               # 64 kbit/s; listeners of every mount start as far behind live. A
          #                               # mount's own setting wins over these; at one level, seconds win
          # header-timeout: 15            # seconds a client has to send its request head
          # source-timeout: 10            # seconds without data before a source is dropped
          # block-duration: 0.5           # seconds of audio per write to a listener (at most 10); lower it for
          #                               # monitoring or talk-back, where every fraction of a second counts
          # max-listeners-per-ip:          # listeners at once from one address; not set: unlimited
          # max-pending-per-ip: 64         # connections from one address still sending their request head (0: no limit)
          # redirect-when-full:           # a URL: at `clients`, listeners get a 302 to it plus their path (another
          #                               # edge); not set: 403

        # Reverse proxies and CDN nodes (addresses or CIDR ranges) whose Forwarded or X-Forwarded-For header
        # names the real client; that address is then the one listed, logged, limited, banned and sent to URL
        # authentication. The headers are ignored from everyone else.
        # trusted-proxies: []             # e.g. [127.0.0.1, 10.0.0.0/8]
        # client-address-header: x-forwarded-for   # the header those proxies write: x-forwarded-for or
        #                                 # forwarded (RFC 7239); the other is ignored, as a client could write it

        # hostname: localhost             # used in listen URLs and playlists
        # location: Earth                 # shown in status
        # admin-contact: icemaster@localhost   # shown in status
        # server-id: Icecast 2.4.4 (Floe) # the Server: header and the server_id stat
        # fileserve: true                 # serve the files under paths.webroot that are not mounts
        # metrics-access: local           # who may read /metrics: local (loopback clients, or admin credentials),
        #                                 # admin (admin credentials), public (anyone)
        # source-credentials: mount-admin # what a mount's source password may do in the admin API: mount-admin
        #                                 # (Icecast's rule: every mount command) or metadata-only (title updates)

        # Headers added to every response; `status` (optional) limits one to responses with that status.
        # http-headers:
        #   - name: Access-Control-Allow-Origin
        #     value: "*"
        #     status: 200

        paths:
          # webroot: web                  # static files, intros and file fallbacks
          # logdir: .                     # where relative log file names are
          # pidfile:                      # not set: no pid file
          # allow-ip:                     # not set: anyone may connect; else a file of the addresses that may
          #                               # (one per line: 192.0.2.7, 10.0.0.0/8, 2001:db8::/32 or 192.168.1.*)
          # deny-ip:                      # not set: nobody is banned; else a file of addresses refused with 403
          # aliases:                      # request paths answered as other paths
          #   - source: /
          #     destination: /status.html

        logging:
          # access-log:                   # not set: no access log; "-" is standard output
          # error-log: "-"                # "-" is standard error
          # level: info                   # debug, info, warning or error

        # Relaying: each relay pulls a mount from an upstream Icecast or Floe and serves it here as if a source
        # sent it; it reconnects by itself (1 s, doubling up to 30 s). On-demand relays connect when a listener
        # arrives. With master-server, Floe is a slave: it relays every mount the master lists.
        # relay:
        #   master-server:                # not set: no master server (slave mode off)
        #   master-server-port:           # not set
        #   master-username: relay
        #   master-password:              # not set
        #   master-update-interval: 120   # seconds between polls of the master's stream list
        #   relays-on-demand: false       # whether relays connect only while someone listens
        #   relays:
        #     - server: radio.example.org # required
        #       port: 8000
        #       mount: /                  # the remote mount
        #       local-mount:              # not set: the same path as the remote mount
        #       on-demand:                # not set: relays-on-demand
        #       username:                 # not set
        #       password:                 # not set
        #       relay-metadata: true      # carry the remote stream's titles over
        #       hold: 10                  # seconds listeners wait while the relay reconnects (0: none)
        #       on-demand-linger: 10      # on-demand: seconds connected after the last listener left
        #       yield-to-source: false    # a source logging in takes the mount over, listeners and all; the
        #                                 # relay takes it back when that source leaves (false: mount in use)

        # One file per mount in this directory: mounts/live.yaml configures /live, radio.mp3.yaml configures
        # /radio.mp3. Adding or removing a file adds or removes the mount; files not ending in .yaml or .yml, and
        # hidden files, are skipped. The path is relative to this file's directory (to the current directory for
        # the built-in configuration). An explicitly named directory must exist; `~` reads no directory.
        # mounts-directory: mounts

        # Settings for every mount: a mount with no settings of its own uses these, and a configured mount takes
        # from here whatever it leaves unset. mounts/live.yaml lists the same options, explained.
        # default-mount:
        #   username:                     # not set: the global source-user
        #   password:                     # not set: the global source-password
        #   max-listeners: unlimited      # or a number
        #   max-listeners-per-ip:         # listeners of a mount from one address; not set: the global limit
        #   stream-name:                  # not set: what the source sends (ice-name)
        #   stream-description:           # not set: what the source sends
        #   stream-url:                   # not set: what the source sends
        #   genre:                        # not set: what the source sends
        #   metadata-interval: 16000      # bytes of audio between ICY metadata blocks, for new listeners
        #   burst-size:                   # not set: limits/burst-size
        #   queue-size:                   # not set: limits/queue-size
        #   burst-duration:               # seconds; wins over burst-size (here and in limits)
        #   queue-duration:               # seconds; wins over queue-size (here and in limits)
        #   transcode:                    # not set: the mount's own source. Or made from another mount:
        #     from: /live                 #   a configured MP3 mount; libmpg123 decodes, LAME encodes
        #     bitrate: 64                 #   kbit/s (CBR, ABR)
        #     samplerate: 22050           #   not set: the origin's
        #     channels: 1                 #   not set: the origin's
        #     mode: cbr                   #   cbr, vbr or abr
        #     quality: 5                  #   0 (best) to 9; for vbr, LAME's -V level
        #     on-demand: false            #   true: encode only while the mount has listeners
        #   source-timeout:               # not set: limits/source-timeout
        #   fallback-mount:               # not set: listeners are disconnected when the source leaves
        #   fallback-override: false
        #   fallback-when-full: false
        #   redirect-when-full:           # a URL: when full, 302 to it plus the mount's path (another edge)
        #   max-listener-duration: unlimited   # or seconds
        #   intro:                        # not set: no intro
        #   dump-file:                    # not set: no recording
        #   on-connect:                   # not set: nothing is run
        #   on-disconnect:                # not set: nothing is run
        #   hidden: false
        #   public:                       # not set: the source decides; true or false decides for it
        #   charset:                      # not set: UTF-8 when the bytes are UTF-8, else ISO-8859-1
        #   type:                         # not set: the source's Content-Type
        #   bitrate:                      # not set: what the source sends
        #   http-headers: []              # extra headers on this mount's streams
        #   authentication:               # not set: anyone may listen
        #   hls:                          # HLS at /MOUNT.m3u8 for MP3 mounts (false: none); segments of whole frames
        #     enabled: true
        #     segment-duration: 2         # seconds, the target (EXT-X-TARGETDURATION rounds it up)
        #     window: 6                   # segments in the live playlist (at least 3)
        #     part-duration: 0.5          # Low-Latency HLS parts and blocking reloads; ~ for plain HLS
        #     format: ts                  # ts (MPEG-TS), or packed: the MP3 frames after an ID3 timestamp tag
        #   outputs: []                   # speaker and FEC outputs (not in default-mount), each one of:
        #     - type: rtp                 # RTP to a unicast address or multicast group; SDP at /MOUNT.sdp?output=NAME
        #       name: rtp1                # default: the type and a number (rtp1, rtp2, playback1)
        #       mode: mpa                 # mpa (MP3 frames as they are, PT 14) or l16 (decoded 16-bit PCM)
        #       address: 239.255.0.1      # IPv4 unicast address or multicast group
        #       port: 5004
        #       ttl: 1                    # multicast hops
        #       interface:                # not set: the routing table picks the multicast interface
        #       mtu: 1500                 # packets stay within it
        #       rate: 44100               # l16 only: the sample rate and channels sent; sources are resampled to them
        #       channels: 2               # l16 only (44100 Hz stereo is PT 10, mono PT 11, other formats payload-type)
        #       payload-type: 96          # l16 only, for formats without a static payload type
        #       jitter-buffer: 0.2        # seconds a frame waits after arriving, to absorb the source's jitter
        #       maximum-buffer: 5         # seconds; beyond this a too-fast source's oldest audio is dropped
        #       gaps: pause               # while the source is late or gone: pause (send nothing) or silence (l16)
        #     - type: playback            # decoded with libmpg123, played with libout123
        #       driver:                   # not set: out123's default; alsa, pulse, oss, or files: wav, raw, au
        #       device:                   # not set: the driver's default; the file for wav, raw and au (rewritten
        #                                 #   each time a source starts, after the last one ended)
        #       rate: 44100               # the device's format; sources are resampled and mixed to it
        #       channels: 2
        #       gaps: silence             # silence keeps the device playing; pause stops writing
        #     - type: fec                 # FEC over UDP (read with floe fec-recv): groups of whole frames, k data
        #       address: 239.255.0.1      #   slices + n - k Reed-Solomon parity slices, spread over the group's play
        #       port: 5010                #   time; any k of a group's n slices rebuild it
        #       ttl: 1
        #       interface:                # not set: the routing table picks the multicast interface
        #       fec: 8:12:1400            # k:n:max-slice-bytes: 1400 + 32 header bytes fit a 1500-byte MTU; any 4 of
        #                                 #   12 slices may be lost; about 0.7 s groups at 128 kbit/s
        #   relay:                        # not set: sources send this mount; else it is pulled (not in default-mount)
        #     upstreams: [http://origin.example:8000/live]   # in priority order; or server, port, mount
        #     on-demand:                  # not set: relay/relays-on-demand
        #     metadata: true              # carry the upstream's titles over
        #     hold: 10                    # and on-demand-linger, yield-to-source: as in relay/relays above

        # Mounts can also be written here instead of in files (not both for the same mount):
        # mounts:
        #   /extra:
        #     stream-name: Extra
        #     max-listeners: 100
        """#
}
