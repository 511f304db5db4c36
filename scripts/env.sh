# Sourced by the scripts: OpenMPI settings for running as root and oversubscribing a
# small machine (harmless elsewhere), and cargo on PATH.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[[ -x "$HOME/.cargo/bin/cargo" ]] && export PATH="$HOME/.cargo/bin:$PATH"
true
