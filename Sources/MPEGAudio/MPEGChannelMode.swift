/// The channel mode, from bits 7–6 of a frame header.
///
/// Every mode but ``mono`` carries two channels. Encoders such as LAME switch between ``stereo`` and
/// ``jointStereo`` from frame to frame, which is why stream compatibility compares channel counts, not modes.
public enum MPEGChannelMode: Sendable, Hashable {
    /// `00`: two independent channels.
    case stereo
    /// `01`: two channels, coded together (mid/side or intensity stereo).
    case jointStereo
    /// `10`: two unrelated mono channels (e.g. two languages).
    case dualChannel
    /// `11`: one channel.
    case mono
}
