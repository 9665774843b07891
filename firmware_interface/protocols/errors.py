"""Typed errors of the wire-protocol decoders and encoders.

Every decoder in this package raises only `ProtocolError` subclasses on bad input: a frame
that is too short, has a field out of range, or is of a type the decoder does not know.
Each error says what is wrong and, where it can, what to do (``hint``).
"""

from __future__ import annotations

from gait.core.errors import GaitError


class ProtocolError(GaitError):
    """Base of every error of the protocol decoders and encoders.

    ``protocol`` names the protocol ("pmd", "rsc", "metawear", "movesense"); ``hint`` is
    what to do about it (or ``None``).
    """

    def __init__(self, message: str, *, protocol: str | None = None, hint: str | None = None):
        self.protocol = protocol
        self.hint = hint
        text = f"{protocol}: {message}" if protocol else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class TruncatedFrame(ProtocolError):
    """The frame ends before a field that its header (or the layout) says is there."""

    def __init__(self, protocol: str, what: str, needed: int, got: int, hint: str | None = None):
        self.what = what
        self.needed = needed
        self.got = got
        super().__init__(
            f"truncated frame: {what} needs {needed} bytes, {got} available",
            protocol=protocol,
            hint=hint,
        )


class MalformedFrame(ProtocolError):
    """The frame is long enough but its contents are inconsistent (bad length, bad field value)."""


class UnsupportedFrame(ProtocolError):
    """A frame, packet or setting type this decoder does not handle.

    Example: ``UnsupportedFrame(type=0x83, device="H10", measurement="ACC")``.
    """

    def __init__(
        self,
        type: int,  # the protocol documents call it "type"
        *,
        protocol: str = "pmd",
        device: str | None = None,
        measurement: str | None = None,
        what: str = "frame type",
        hint: str | None = None,
    ):
        self.type = type
        self.device = device
        self.measurement = measurement
        self.what = what
        where = "".join([f" for {measurement}" if measurement else "", f" on {device}" if device else ""])
        super().__init__(f"unsupported {what} 0x{type:02X}{where}", protocol=protocol, hint=hint)


class ControlPointError(ProtocolError):
    """A device answered a control-point request with an error status.

    ``op`` is the request opcode, ``measurement`` the measurement type code, ``status`` the
    device's status code and ``status_name`` its name (e.g. "INVALID_SAMPLE_RATE").
    """

    def __init__(
        self,
        *,
        op: int,
        measurement: int,
        status: int,
        status_name: str,
        protocol: str = "pmd",
        device: str | None = None,
        hint: str | None = None,
    ):
        self.op = op
        self.measurement = measurement
        self.status = status
        self.status_name = status_name
        self.device = device
        on = f" on {device}" if device else ""
        super().__init__(
            f"control point op {op} for measurement {measurement} failed{on}: status {status} {status_name}",
            protocol=protocol,
            hint=hint,
        )


class TimestampError(ProtocolError):
    """Per-sample times cannot be computed (no sample rate known, timestamp out of range)."""


class EncodeError(ProtocolError):
    """A value cannot be encoded (out of the field's range, or not allowed in this message)."""


class InvalidHex(ProtocolError):
    """Text given as hex bytes is not hex."""


class UnknownProtocol(ProtocolError):
    """A protocol name the registry does not know."""
