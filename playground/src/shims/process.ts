// The SDK resolves file paths against process.cwd(); in the page that is "/" (the identity test
// compiles the examples with sluice-compile-job from "/" too).
export const process = { cwd: () => "/", env: {} as Record<string, string | undefined>, platform: "browser" };
