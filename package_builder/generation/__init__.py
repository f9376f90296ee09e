"""Generation: a plan becomes a package in phases. The plan and phase declarations, the graph every engine reads, the
runner (context → prompt → model → artifact → files, commit, checkpoint), the model and its pacing and prices, the
package's checks, and the writer that puts files on the feature branch. It never imports `builds`.
"""
