"""The Python worker of make bench: echo, the no-op whose round trips
measure the worker protocol and the library, not the function."""

from offload_worker import function, serve


@function
def echo(payload):
    return payload


if __name__ == "__main__":
    serve()
