/**
 * Vitest's `forks` pool, plus one guarantee: a test worker that dies on its own (a native crash
 * such as a SIGSEGV in @roamhq/wrtc, an abort, an unexpected `exit`) fails the test file it was
 * running, by name and with the signal or exit code, in every reporter (the JSON report included).
 *
 * Plain `forks` reports such a death only as "Worker exited unexpectedly", naming neither the file
 * nor the signal, and leaves the file "passed" with its remaining tests "pending": the JSON report
 * says `success: true`. Other files are not affected either way: each file has its own process
 * (`isolate`), and the pool waits for every file before it reports.
 *
 * Uses the public (if experimental) pool API of Vitest 4 and the state manager every reporter
 * reads (`vitest.state`); `test/support/crash-reporting-pool.test.ts` holds it to that.
 */
import { relative } from "node:path";
import {
  ForksPoolWorker,
  generateFileHash,
  type PoolOptions,
  type PoolRunnerInitializer,
  type RunnerTask,
  type RunnerTaskResultPack,
  type RunnerTestFile,
  type TestProject,
  type WorkerRequest,
} from "vitest/node";

/** Name of the pool in `vitest.config.ts` (`pool: crashReportingForks()`). */
export const CRASH_REPORTING_POOL_NAME = "crash-reporting-forks";

/** What the worker was doing when it died, for the failure message. */
const WorkerPhase = {
  idle: "idle",
  running: "running",
  stopping: "stopping",
} as const;

type WorkerPhase = (typeof WorkerPhase)[keyof typeof WorkerPhase];

/** A message from the worker that ends a file (`testfileFinished` in Vitest's worker protocol). */
function isFileFinished(message: unknown): boolean {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "testfileFinished";
}

/** `SIGSEGV` / `exit code 3`, as a death reads in a failure. */
export function describeDeath(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `signal ${signal}` : `exit code ${code ?? "unknown"}`;
}

/** A fork worker that turns its own unexpected death into failures of the files it ran. */
class CrashReportingForksWorker extends ForksPoolWorker {
  override readonly name = CRASH_REPORTING_POOL_NAME;
  readonly #project: TestProject;
  /** Absolute paths of the files of the last `run` request. */
  #files: string[] = [];
  #phase: WorkerPhase = WorkerPhase.idle;
  /** Set once Vitest itself ends the process: that exit is expected. */
  #stopRequested = false;

  constructor(options: PoolOptions) {
    super(options);
    this.#project = options.project;
  }

  override async start(): Promise<void> {
    await super.start();
    // Registered before Vitest's own listeners (it adds them once `start()` resolves), so the
    // files are marked failed before the pool learns that the task ended.
    // ChildProcess "exit" passes (code, signal); the pool API types listeners with one argument.
    super.on("exit", (...args: unknown[]) => this.#onExit(args[0] as number | null, args[1] as NodeJS.Signals | null));
    super.on("message", (message: unknown) => {
      if (isFileFinished(message)) {
        this.#phase = WorkerPhase.idle;
      }
    });
  }

  override send(message: WorkerRequest): void {
    if (message.type === "run" || message.type === "collect") {
      this.#files = message.context.files.map((file) => file.filepath);
      this.#phase = WorkerPhase.running;
    } else if (message.type === "stop") {
      this.#phase = WorkerPhase.stopping;
    }
    super.send(message);
  }

  override async stop(): Promise<void> {
    this.#stopRequested = true;
    await super.stop();
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopRequested || this.#files.length === 0) {
      return;
    }
    const death = describeDeath(code, signal);
    const when = this.#phase === WorkerPhase.running ? "while running" : "after the tests of";
    for (const filepath of this.#files) {
      failFile(this.#project, filepath, `test worker died (${death}) ${when} ${relative(this.#project.config.root, filepath)}`);
    }
  }
}

/**
 * Marks `filepath` failed with `message`, and every test in it whose result had not reached this
 * process (it was running, queued, or done but not yet reported); reported results are kept.
 * Creates the file's entry when the worker died before collecting it.
 */
function failFile(project: TestProject, filepath: string, message: string): void {
  const state = project.vitest.state;
  let file = state.filesMap.get(filepath)?.find((candidate) => candidate.projectName === project.name);
  if (!file) {
    file = emptyFileTask(project, filepath);
    state.collectFiles(project, [file]);
  }
  const error = { name: "WorkerCrash", message, stack: `WorkerCrash: ${message}` };
  const lost = { ...error, message: `${message}, before this test reported a result`, stack: `WorkerCrash: ${message}, before this test reported a result` };
  const packs: RunnerTaskResultPack[] = [[file.id, { ...file.result, state: "fail", errors: [...(file.result?.errors ?? []), error] }, file.meta]];
  for (const task of file.tasks.flatMap(unfinishedTasks)) {
    packs.push([task.id, { ...task.result, state: "fail", errors: [lost] }, task.meta]);
  }
  state.updateTasks(packs);
  project.vitest.logger.error(`\n${message}\n`);
}

/** Tests and suites under `task` (itself included) that were queued or running when the worker died. */
function unfinishedTasks(task: RunnerTask): RunnerTask[] {
  const below = "tasks" in task ? task.tasks.flatMap(unfinishedTasks) : [];
  const unfinished = task.mode === "run" && (task.result === undefined || task.result.state === "run" || task.result.state === "queued");
  return unfinished ? [task, ...below] : below;
}

/** The entry Vitest would have made for `filepath` had the worker lived long enough to collect it. */
function emptyFileTask(project: TestProject, filepath: string): RunnerTestFile {
  const name = relative(project.config.root, filepath);
  // The fields Vitest's own `createFileTask` fills; that helper is not exported by `vitest/node`.
  const file = {
    id: generateFileHash(name, project.name),
    name,
    fullName: name,
    type: "suite",
    mode: "run",
    filepath,
    tasks: [],
    meta: {},
    projectName: project.name,
    pool: CRASH_REPORTING_POOL_NAME,
  } as unknown as RunnerTestFile;
  file.file = file;
  return file;
}

/** The pool for `vitest.config.ts`. */
export function crashReportingForks(): PoolRunnerInitializer {
  return { name: CRASH_REPORTING_POOL_NAME, createPoolWorker: (options) => new CrashReportingForksWorker(options) };
}
