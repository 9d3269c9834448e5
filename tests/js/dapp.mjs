// A dapp's start-up with ethers 6 or viem 2, unmodified, against one JSON-RPC endpoint:
// chain id, block, balance, nonce, code, fee data, a token balance by eth_call and by
// Multicall3, a gas estimate, a signed transfer and its receipt, and the Transfer log seen
// by a watcher (filters over HTTP, eth_subscribe over WebSocket).
// Usage: node dapp.mjs ethers|viem URL CHAIN_ID PRIVATE_KEY TOKEN MULTICALL3 RECIPIENT
// Prints one JSON line of what it saw; exits 1 with the error on the first failure.
const [client, url, chainIdText, key, tokenAddress, multicallAddress, recipient] =
  process.argv.slice(2);
const chainId = Number(chainIdText);
const DEADLINE_MS = 20000;
const ERC20 = [
  "function balanceOf(address) view returns (uint256)",
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
  "function transfer(address to, uint256 value) returns (bool)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
];

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function withEthers() {
  const { ethers } = await import("ethers");
  const provider = url.startsWith("ws")
    ? new ethers.WebSocketProvider(url)
    : new ethers.JsonRpcProvider(url, undefined, { pollingInterval: 250 });
  try {
    const wallet = new ethers.Wallet(key, provider);
    const token = new ethers.Contract(tokenAddress, ERC20, wallet);
    const multicall = new ethers.Contract(
      multicallAddress,
      [
        "function aggregate3((address target, bool allowFailure, bytes callData)[] calls) payable returns ((bool success, bytes returnData)[])",
      ],
      provider,
    );
    const seen = {};
    seen.chainId = Number((await provider.getNetwork()).chainId);
    seen.block = await provider.getBlockNumber();
    const block = await provider.getBlock(seen.block, true);
    seen.blockTransactions = block.prefetchedTransactions.length;
    seen.balance = (await provider.getBalance(wallet.address)).toString();
    seen.nonce = await provider.getTransactionCount(wallet.address);
    seen.codeBytes = ((await provider.getCode(tokenAddress)).length - 2) / 2;
    const fees = await provider.getFeeData();
    seen.maxFeePerGas = fees.maxFeePerGas.toString();
    seen.symbol = await token.symbol();
    seen.decimals = Number(await token.decimals());
    seen.tokenBalance = (await token.balanceOf(wallet.address)).toString();
    const [[ok, raw]] = await multicall.aggregate3.staticCall([
      [tokenAddress, false, token.interface.encodeFunctionData("balanceOf", [wallet.address])],
    ]);
    seen.multicallOk = ok;
    seen.multicallBalance = BigInt(raw).toString();
    seen.gas = Number(await token.transfer.estimateGas(recipient, 4242n));
    let onTransfer;
    const heard = new Promise((resolve) => {
      onTransfer = (from, to, value, event) => {
        if (to.toLowerCase() === recipient.toLowerCase() && value === 4242n) {
          resolve(event.log.transactionHash);
        }
      };
    });
    await token.on("Transfer", onTransfer);
    const tx = await token.transfer(recipient, 4242n);
    const receipt = await within(tx.wait(1, DEADLINE_MS), "the receipt");
    seen.txHash = tx.hash;
    seen.status = receipt.status;
    seen.heardTransfer = await within(heard, "the Transfer log");
    await token.off("Transfer", onTransfer);
    return seen;
  } finally {
    await provider.destroy();
  }
}

async function withViem() {
  const viem = await import("viem");
  const { privateKeyToAccount } = await import("viem/accounts");
  const abi = viem.parseAbi(ERC20);
  const chain = viem.defineChain({
    id: chainId,
    name: "battletui",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
    contracts: { multicall3: { address: multicallAddress } },
  });
  const transport = url.startsWith("ws") ? viem.webSocket(url) : viem.http(url);
  const account = privateKeyToAccount(key);
  const client = viem.createPublicClient({ chain, transport, pollingInterval: 250 });
  const wallet = viem.createWalletClient({ chain, transport, account });
  const token = { address: tokenAddress, abi };
  const seen = {};
  seen.chainId = await client.getChainId();
  seen.block = Number(await client.getBlockNumber());
  const block = await client.getBlock({ blockNumber: BigInt(seen.block), includeTransactions: true });
  seen.blockTransactions = block.transactions.length;
  seen.balance = (await client.getBalance({ address: account.address })).toString();
  seen.nonce = await client.getTransactionCount({ address: account.address });
  seen.codeBytes = ((await client.getCode({ address: tokenAddress })).length - 2) / 2;
  const fees = await client.estimateFeesPerGas();
  seen.maxFeePerGas = fees.maxFeePerGas.toString();
  seen.symbol = await client.readContract({ ...token, functionName: "symbol" });
  seen.decimals = await client.readContract({ ...token, functionName: "decimals" });
  seen.tokenBalance = (
    await client.readContract({ ...token, functionName: "balanceOf", args: [account.address] })
  ).toString();
  const [viaMulticall] = await client.multicall({
    contracts: [{ ...token, functionName: "balanceOf", args: [account.address] }],
  });
  seen.multicallOk = viaMulticall.status === "success";
  seen.multicallBalance = viaMulticall.result.toString();
  seen.gas = Number(
    await client.estimateContractGas({
      ...token,
      functionName: "transfer",
      args: [recipient, 4242n],
      account,
    }),
  );
  let unwatch;
  const heard = new Promise((resolve, reject) => {
    unwatch = client.watchContractEvent({
      ...token,
      eventName: "Transfer",
      args: { to: recipient },
      onLogs: (logs) => {
        const mine = logs.find((log) => log.args.value === 4242n);
        if (mine) resolve(mine.transactionHash);
      },
      onError: reject,
    });
  });
  const hash = await wallet.writeContract({
    ...token,
    functionName: "transfer",
    args: [recipient, 4242n],
  });
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: DEADLINE_MS });
  seen.txHash = hash;
  seen.status = receipt.status === "success" ? 1 : 0;
  seen.heardTransfer = await within(heard, "the Transfer log");
  unwatch();
  return seen;
}

try {
  const seen = client === "ethers" ? await withEthers() : await withViem();
  process.stdout.write(JSON.stringify(seen) + "\n");
  process.exit(0);
} catch (error) {
  process.stderr.write(`${client} ${url}: ${error.stack || error}\n`);
  process.exit(1);
}
