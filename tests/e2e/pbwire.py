"""pbwire -- just enough of the protobuf wire format to speak
proto/offload.proto by hand in the e2e tests (no generated python code):
hostile peers, fake executors and fake gateways.

    from pbwire import envelope, fields, ld, vi
    hello = ld(1, b"py-exec") + ld(2, ld(1, b"io") + vi(2, 1) + vi(3, 1) + ld(4, b"echo"))
    sock.send(envelope(10, hello))          # Envelope{version 2, hello}
    f = fields(sock.recv())                 # {field number: int or bytes}
"""


def varint(v):
    """Encodes a non-negative int as a protobuf varint."""
    b = bytearray()
    while True:
        if v < 0x80:
            b.append(v)
            return bytes(b)
        b.append((v & 0x7F) | 0x80)
        v >>= 7


def read_varint(b, i):
    """Decodes the varint at b[i]; returns (value, next index)."""
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def vi(num, v):
    """A varint field."""
    return varint(num << 3) + varint(v)


def ld(num, data):
    """A length-delimited field (bytes, string or sub-message)."""
    return varint(num << 3 | 2) + varint(len(data)) + data


def envelope(body_field, body, version=2):
    """An Envelope: the protocol version, then one body field."""
    return vi(1, version) + ld(body_field, body)


def fields(b):
    """Top-level fields of a message: {number: int or bytes} (the last one
    wins for repeated numbers). Raises ValueError for other wire types."""
    out, i = {}, 0
    while i < len(b):
        tag, i = read_varint(b, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            out[num], i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            out[num] = b[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
    return out
