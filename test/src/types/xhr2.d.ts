// xhr2 ships no types; it exports an XMLHttpRequest constructor.
declare module 'xhr2' {
  const XMLHttpRequest: new () => object;
  export default XMLHttpRequest;
}
