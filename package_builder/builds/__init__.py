"""The monorepo's builds: its packages and their graph, each step's declared inputs and outputs, build/test steps with a
local and remote cache, publishing, and the outcomes CI reads. It never imports `generation`.
"""
