declare module "virtual:examples" {
  const examples: Array<{ name: string; source: string }>;
  export default examples;
}
