/// The MPEG audio version, from bits 20–19 of a frame header.
///
/// ```
///   bits  version    sample rates (Hz)
///   00    MPEG-2.5   11025  12000   8000   (unofficial Fraunhofer extension, widely decoded)
///   01    reserved   -> the header is invalid
///   10    MPEG-2     22050  24000  16000
///   11    MPEG-1     44100  48000  32000
/// ```
public enum MPEGVersion: Sendable, Hashable {
    /// ISO/IEC 11172-3.
    case mpeg1
    /// ISO/IEC 13818-3, the low sample rate extension.
    case mpeg2
    /// MPEG-2.5: the quarter sample rates.
    case mpeg25
}
