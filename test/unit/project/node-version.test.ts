// `npm run test:node22` names the Node major it wants, so a wrapper that fell back to another Node
// fails the run instead of testing the wrong one; any run is at least on the oldest supported line.
test('the tests run on the Node the run asked for, and never below Node 22', () => {
  const major = Number(process.versions.node.split('.')[0]);
  expect(major).toBeGreaterThanOrEqual(22);
  if (process.env.KAFKARX_NODE_MAJOR) expect(major).toBe(Number(process.env.KAFKARX_NODE_MAJOR));
});
