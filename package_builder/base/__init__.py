"""The shared base both halves stand on: the config and its validated snapshot, typed errors, atomic storage, digests,
paths, locks, globs, the monorepo's declared layout, and running a command without our secrets. It imports neither half.
"""
