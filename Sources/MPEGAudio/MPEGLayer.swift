/// The MPEG audio layer, from bits 18–17 of a frame header (`01` = III, `10` = II, `11` = I, `00` reserved).
///
/// The raw value is the layer number, so `MPEGLayer(rawValue: 3)` is Layer III (MP3).
public enum MPEGLayer: Int, Sendable, Hashable {
    /// Layer I: 384 samples per frame, lengths counted in 4-byte slots.
    case layer1 = 1
    /// Layer II (MP2): 1152 samples per frame at every version.
    case layer2 = 2
    /// Layer III (MP3): 1152 samples per frame at MPEG-1, 576 at MPEG-2 and MPEG-2.5.
    case layer3 = 3
}
