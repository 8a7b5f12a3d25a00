"""Remote training over SSH: host configuration, host-key checks, engine push, detached runs.

Modules:

- :mod:`engine.remote.config`   host entries and the runs index (JSON in the config dir)
- :mod:`engine.remote.secrets`  host passwords in the OS keyring, kept in step with the entries
- :mod:`engine.remote.hostkeys` known_hosts verification with an explicit consent callback
- :mod:`engine.remote.ssh`      asyncssh connection and the synchronous :class:`RemoteHost`
- :mod:`engine.remote.bundle`   the engine tarball (content-hashed) and dataset file lists
- :mod:`engine.remote.runs`     start / attach / stop / download a detached remote run
- :mod:`engine.remote.fetch`    downloads that trust a host with contents, never with paths
- :mod:`engine.remote.agent`    runs *on the host*: the detached job runner (no asyncssh)
- :mod:`engine.remote.session`  a run on a host as an event source (start, resume, attach)

Importing this package imports nothing heavy, so the host-side agent only needs torch and
the engine's own dependencies.
"""

import warnings

# asyncssh still loads the cryptography library's DSA support, which warns on import; a user
# running `layerforge train --resume` sees nothing of DSA (LayerForge never offers it).
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\.|$)")
