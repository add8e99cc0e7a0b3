// Run by pull.test.ts inside a private network namespace (unshare -n),
// where loopback is the only interface: Debian's Orthanc 1.10 cannot bind
// to one address, so this is how it listens on 127.0.0.1 only.
// Usage: node pullScenario.js WORKDIR PATIENT_ID; prints one JSON line.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CT, filesUnder, runCli } from './helpers';

const [work, patientID] = process.argv.slice(2) as [string, string];
const ORTHANC = 'http://127.0.0.1:8042';

async function main(): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const store = join(work, 'orthanc-store');
  mkdirSync(store, { recursive: true });
  const config = join(work, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'lpacs-test',
      StorageDirectory: store,
      IndexDirectory: store,
      HttpPort: 8042,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
    }),
  );
  const orthanc = spawn('/usr/sbin/Orthanc', [config], { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${ORTHANC}/system`)).ok) break;
      } catch {
        // starting
      }
      if (i > 100) throw new Error('Orthanc did not start in 20 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const file of filesUnder(CT).filter((f) => f.endsWith('.dcm'))) {
      const res = await fetch(`${ORTHANC}/instances`, {
        method: 'POST',
        body: readFileSync(file),
      });
      if (!res.ok) throw new Error(`Orthanc refused ${file}: ${res.status}`);
    }
    const pull = async (lake: string, flags: string[]) => {
      const run = await runCli([
        'pull',
        `${ORTHANC}/dicom-web`,
        ...flags,
        '--lake',
        join(work, lake),
        '--json',
      ]);
      if (run.code !== 0) throw new Error(run.stderr);
      return JSON.parse(run.stdout) as unknown;
    };
    const first = await pull('all', ['--modality', 'CT']);
    const again = await pull('all', ['--modality', 'CT']);
    const patient = await pull('one', ['--patient', patientID]);
    const none = await pull('none', ['--modality', 'MR']);
    process.stdout.write(
      `${JSON.stringify({ first, again, patient, none })}\n`,
    );
  } finally {
    orthanc.kill();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
