"""The comparison guide: assembly from every engine, efficacy, diagrams, the simulated course, templates and
rendering (HTML, Markdown, PDF, JSON), and the virtual registry's report. Entry points:
:func:`.comparison.compare`, :func:`.render.render`."""

#: the package's public modules, down the flow
__all__ = ["comparison", "efficacy", "simulation", "diagrams", "render", "registry"]
