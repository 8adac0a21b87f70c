"""A pipeline written the way a new one is: this module and one registration line
(``pipelines.register(toy_pipeline.PIPELINE)``, or a line in ``pipelines/__init__.py``)."""

from dataclasses import dataclass

from backproplab import settings
from backproplab.pipelines.bars import Bar
from backproplab.pipelines.declaration import Pipeline, Stage
from backproplab.runs.options import RunOptions
from backproplab.runs.run import start_run
from backproplab.settings import Range, setting


@dataclass
class ToyConfig:
    level: float = setting(0.75, "the score the toy run reaches", range=Range(0, 1), quick=0.5)


def run(c: ToyConfig, options: RunOptions) -> dict:
    settings.check(c)  # before anything is written
    with start_run("toy", c, options, "toy-run", epochs=1) as r:
        r.write_config()
        return r.complete({"score": c.level, "epochs": 1})


def section(doc, runs) -> None:
    doc.heading(2, "Toy results", "toy")
    doc.para(", ".join(f"{r.path.name}: {r.summary['score']}" for r in runs))


PIPELINE = Pipeline(name="toy", help="a toy pipeline for the registry's test", config=ToyConfig, run=run,
                    describe_result=lambda s: f"score {s['score']}", section=section,
                    stages=(Stage("Toy stage", "toy"),), bars=(Bar("Toy deliverable", {}, "score", "score", 0.4),))
