/** The model test (model-check.ts) on dynalite. MODEL_RUNS=2000 for a longer search. */
import { describeModel } from './model-check';

describeModel({ runs: Number(process.env.MODEL_RUNS ?? 200), throttled: false });
