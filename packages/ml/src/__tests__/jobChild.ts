// Runs one prediction job and kills its own process (SIGKILL, no cleanup)
// once `killAfter` inputs are committed: the jobs test resumes it.
// Usage: node jobChild.js LAKE JOB_ID REFERENCES_JSON KILL_AFTER
import { readFileSync } from 'node:fs';
import { PredictionJobs } from '../PredictionJobs';
import type { Reference } from './helpers';
import { referenceDecoder } from './helpers';

const [lakeRoot, id, refsPath, killAfter] = process.argv.slice(2);
const refs = JSON.parse(readFileSync(refsPath!, 'utf8')) as Reference[];
const jobs = new PredictionJobs({
  lakeRoot: lakeRoot!,
  decodeFrame: referenceDecoder(refs),
  commitEvery: 4,
  onProgress: (job) => {
    if (job.progress.done >= Number(killAfter))
      process.kill(process.pid, 'SIGKILL');
  },
});
void jobs.run(id!);
