"""A minimal RESP2 client for the measurements the bench scripts make themselves (stdlib
only): `Conn(port)` to 127.0.0.1, `enc(*args)` to encode a command, `Conn.pipelined` to fill
keys fast. Imported by the scripts' inline Python (lib.sh's `bench_py` puts it on the path).
"""
import socket


def enc(*args):
    """One command as RESP: an array of bulk strings (non-bytes arguments go through str)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A connection whose replies are read from one buffer: bulk strings as bytes (None for
    nil), arrays as lists, status and integer replies as their raw line (b"+OK", b":3"); an
    error reply stops the script."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = bytearray()
        self.pos = 0

    def send(self, data):
        """Sends encoded commands (see `enc`) without reading their replies."""
        self.s.sendall(data)

    def call(self, *args):
        """Sends one command and answers its reply."""
        self.send(enc(*args))
        return self.reply()

    def pipelined(self, commands, window=32):
        """Sends each command (a sequence of arguments), keeping at most `window` of them
        unanswered, and drops the replies."""
        pending = 0
        for args in commands:
            self.send(enc(*args))
            pending += 1
            if pending == window:
                for _ in range(pending):
                    self.reply()
                pending = 0
        for _ in range(pending):
            self.reply()

    def _fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise SystemExit("connection closed")
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def reply(self):
        """Reads one reply."""
        line = self._line()
        t = line[:1]
        if t == b"-":
            raise SystemExit("error reply: %r" % line)
        if t in (b"+", b":"):
            return line
        if t == b"$":
            n = int(line[1:])
            return None if n < 0 else self._exact(n + 2)[:-2]
        if t == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        raise SystemExit("bad reply %r" % line)
