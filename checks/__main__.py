"""`python -m checks`: the check service under uvicorn (what `creditstream checks serve` and the
embedded stack run)."""
from creditstream.commands.checks import serve

if __name__ == "__main__":
    serve(host=None, port=None, announce_admin=False)  # tokens: `creditstream tokens create`
